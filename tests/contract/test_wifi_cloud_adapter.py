"""Contract of `WifiCloudAdapter` (WifiCloudPort) against the simulated vendor cloud.

Every test runs the real adapter over real HTTP against the simulator on loopback, and
asserts what the adapter returns or raises and what the cloud then holds (its
`/_sim/cloud/state`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from temporalio.contrib.pydantic import pydantic_data_converter

from adapters.wifi_cloud import (
    CloudClaimRejected,
    CloudConflict,
    CloudForbidden,
    CloudIdempotencyMismatch,
    CloudInvalidRequest,
    CloudNotFound,
    CloudProtocolError,
    CloudRateLimited,
    CloudTimeout,
    CloudUnauthorized,
    CloudUnavailable,
    WifiCloudAdapter,
    WifiCloudPort,
    make_device_key_pair,
    parse_retry_after,
)
from domain.cloud import DeviceKeyPair, IssuedCredential
from domain.errors import ErrorCode
from simulators.wifi_cloud import (
    CloudConfig,
    CloudFaults,
    Endpoint,
    RunningCloud,
    SimulatedCloud,
    checkin_body,
    start_cloud_simulator,
)
from tests.contract.assertions import assert_error, assert_no_secret

API_KEY = "test-api-key-d6f1c0"
OTHER_API_KEY = "test-api-key-other-7a2e"
CLAIM = "test-fleet-claim-93b1f0c2"
POLICY = "devprov-device"
DEVICE = "plug-kitchen"
ADAPTER_TIMEOUT = 1.0


def config(**changes: Any) -> CloudConfig:
    base: dict[str, Any] = {
        "api_keys": {API_KEY: "devprov", OTHER_API_KEY: "other"},
        "claim_tokens": frozenset({CLAIM}),
        "policies": frozenset({POLICY, "telemetry-only"}),
    }
    return CloudConfig.model_validate({**base, **changes})


@pytest.fixture
def cloud_config() -> CloudConfig:
    """The cloud of most tests: no quota, no faults, devices never check in by themselves."""
    return config()


@pytest.fixture
async def cloud_sim(cloud_config: CloudConfig) -> AsyncIterator[RunningCloud]:
    """The simulated cloud on a free loopback port, stopped after the test."""
    running = await start_cloud_simulator(cloud_config, "127.0.0.1", 0)
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
def cloud(cloud_sim: RunningCloud) -> SimulatedCloud:
    return cloud_sim.cloud


def adapter_for(
    http: httpx.AsyncClient, sim: RunningCloud, api_key: str = API_KEY, timeout: float = 1.0
) -> WifiCloudAdapter:
    return WifiCloudAdapter(http, sim.base_url, SecretStr(api_key), timeout=timeout)


@pytest.fixture
def adapter(cloud_sim: RunningCloud, http_client: httpx.AsyncClient) -> WifiCloudAdapter:
    return adapter_for(http_client, cloud_sim, timeout=ADAPTER_TIMEOUT)


@pytest.fixture
def keys() -> DeviceKeyPair:
    return make_device_key_pair(DEVICE)


async def sim_state(http: httpx.AsyncClient, sim: RunningCloud) -> dict[str, Any]:
    response = await http.get(f"{sim.base_url}/_sim/cloud/state")
    assert response.status_code == 200
    state: dict[str, Any] = response.json()
    return state


async def issue(
    adapter: WifiCloudAdapter, keys: DeviceKeyPair, key: str = "run-1/issue"
) -> IssuedCredential:
    return await adapter.issue_credential(keys.device_id, SecretStr(CLAIM), keys.csr_pem, key)


async def provision(adapter: WifiCloudAdapter, keys: DeviceKeyPair) -> IssuedCredential:
    credential = await issue(adapter, keys)
    await adapter.register_device(
        keys.device_id, {"site": "lab"}, credential.ownership_token, "run-1/register"
    )
    await adapter.attach_policy(keys.device_id, POLICY, "run-1/policy")
    return credential


def test_adapter_implements_the_wifi_cloud_port(adapter: WifiCloudAdapter) -> None:
    port: WifiCloudPort = adapter

    assert port is adapter


# --- device keys ------------------------------------------------------------------------


def test_device_key_pair_has_a_csr_for_the_device_and_a_masked_private_key() -> None:
    pair = make_device_key_pair("sensor-7")
    csr = x509.load_pem_x509_csr(pair.csr_pem.encode())
    key = serialization.load_pem_private_key(pair.private_key_pem.get_secret_value().encode(), None)

    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "sensor-7"
    assert csr.is_signature_valid
    assert csr.public_key() == key.public_key()
    assert "PRIVATE KEY" not in repr(pair)
    assert "PRIVATE KEY" not in str(pair.model_dump())
    assert "PRIVATE KEY" in pair.model_dump_json()


# --- request/response mapping -----------------------------------------------------------


async def test_issue_credential_returns_a_certificate_for_the_csr_key(adapter, keys) -> None:
    credential = await issue(adapter, keys)

    certificate = x509.load_pem_x509_certificate(credential.certificate_pem.encode())
    csr = x509.load_pem_x509_csr(keys.csr_pem.encode())
    assert credential.device_id == DEVICE
    assert certificate.public_key() == csr.public_key()
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == DEVICE
    assert credential.not_after == certificate.not_valid_after_utc
    assert len(credential.credential_id) == 64
    assert credential.ownership_token.get_secret_value()
    assert credential.ownership_token_expires_at > datetime.now(UTC)


async def test_issued_credential_is_listed_as_active(adapter, keys) -> None:
    credential = await issue(adapter, keys)

    [listed] = await adapter.list_credentials(DEVICE)

    assert (listed.credential_id, listed.device_id, listed.active) == (
        credential.credential_id,
        DEVICE,
        True,
    )
    assert listed.revoked_at is None


async def test_register_device_binds_the_credential_and_keeps_attributes(adapter, keys) -> None:
    credential = await issue(adapter, keys)

    device = await adapter.register_device(
        DEVICE, {"site": "lab", "model": "SNSW-001X16EU"}, credential.ownership_token, "k/reg"
    )

    assert device.device_id == DEVICE
    assert device.credential_id == credential.credential_id
    assert device.attributes == {"site": "lab", "model": "SNSW-001X16EU"}


async def test_attach_policy_shows_in_the_device_status(adapter, keys) -> None:
    credential = await provision(adapter, keys)

    status = await adapter.device_status(DEVICE)

    assert status.registered
    assert status.has_policy(POLICY)
    assert (status.credential_id, status.credential_active) == (credential.credential_id, True)
    assert status.attributes == {"site": "lab"}
    assert status.checked_in is False


async def test_attach_policy_returns_the_attachment(adapter, keys) -> None:
    credential = await issue(adapter, keys)
    await adapter.register_device(DEVICE, {}, credential.ownership_token, "k/reg")

    attachment = await adapter.attach_policy(DEVICE, "telemetry-only", "k/policy")

    assert (attachment.device_id, attachment.policy_name) == (DEVICE, "telemetry-only")


async def test_status_of_an_unknown_device_is_unregistered(adapter) -> None:
    status = await adapter.device_status("never-seen")

    assert status.registered is False
    assert status.policies == frozenset()
    assert status.last_checkin_at is None


async def test_device_check_in_with_its_credential_shows_in_the_status(
    adapter, keys, cloud_sim, http_client
) -> None:
    credential = await provision(adapter, keys)

    response = await http_client.post(
        f"{cloud_sim.base_url}/v1/devices/{DEVICE}/checkin",
        json=checkin_body(
            DEVICE, credential.credential_id, keys.private_key_pem.get_secret_value()
        ),
    )
    status = await adapter.device_status(DEVICE)

    assert response.status_code == 200
    assert status.checked_in
    assert status.last_checkin_at is not None


async def test_check_in_signed_with_another_key_is_refused(
    adapter, keys, cloud_sim, http_client
) -> None:
    credential = await provision(adapter, keys)
    impostor = make_device_key_pair(DEVICE)

    response = await http_client.post(
        f"{cloud_sim.base_url}/v1/devices/{DEVICE}/checkin",
        json=checkin_body(
            DEVICE, credential.credential_id, impostor.private_key_pem.get_secret_value()
        ),
    )

    assert (response.status_code, response.json()["error"]) == (401, "invalid_signature")
    assert (await adapter.device_status(DEVICE)).checked_in is False


@pytest.mark.parametrize("cloud_config", [config(auto_checkin_delay=0.0)])
async def test_with_auto_check_in_a_ready_device_checks_in_by_itself(adapter, keys) -> None:
    await provision(adapter, keys)

    status = await adapter.device_status(DEVICE)

    assert status.checked_in


@pytest.mark.parametrize(
    "cloud_config",
    [config(auto_checkin_delay=0.0, faults={"silent_devices": [DEVICE]})],
)
async def test_a_silent_device_never_checks_in(adapter, keys) -> None:
    await provision(adapter, keys)

    assert (await adapter.device_status(DEVICE)).checked_in is False


async def test_revoked_credential_shows_inactive_in_the_status(adapter, keys) -> None:
    credential = await provision(adapter, keys)

    assert await adapter.revoke_credential(credential.credential_id, "k/revoke") is True

    status = await adapter.device_status(DEVICE)
    [listed] = await adapter.list_credentials(DEVICE)
    assert status.credential_active is False
    assert listed.active is False
    assert listed.revoked_at is not None


# --- rollback: deregister and revoke are idempotent ------------------------------------


async def test_deregister_then_revoke_leaves_nothing_for_the_device(
    adapter, keys, cloud_sim, http_client
) -> None:
    credential = await provision(adapter, keys)

    assert await adapter.deregister(DEVICE, "k/deregister") is True
    assert await adapter.revoke_credential(credential.credential_id, "k/revoke") is True

    state = await sim_state(http_client, cloud_sim)
    assert state["devices"] == {}
    assert state["orphaned_credentials"] == []
    assert state["credentials"][credential.credential_id]["status"] == "revoked"
    assert (await adapter.device_status(DEVICE)).registered is False


async def test_deregister_of_an_absent_device_succeeds_as_already_gone(adapter) -> None:
    assert await adapter.deregister("never-registered", "k/deregister") is False


async def test_deregister_twice_with_new_keys_succeeds_both_times(adapter, keys) -> None:
    await provision(adapter, keys)

    first = await adapter.deregister(DEVICE, "k/deregister-1")
    second = await adapter.deregister(DEVICE, "k/deregister-2")

    assert (first, second) == (True, False)


async def test_a_wrong_cloud_url_is_not_taken_for_an_absent_device(cloud_sim, http_client) -> None:
    adapter = WifiCloudAdapter(
        http_client, f"{cloud_sim.base_url}/wrong-prefix", SecretStr(API_KEY), timeout=1.0
    )

    with pytest.raises(CloudNotFound) as caught:
        await adapter.deregister(DEVICE, "k/deregister")

    assert "cloud_error" not in caught.value.details


async def test_revoke_of_an_unknown_credential_succeeds_as_already_gone(adapter) -> None:
    assert await adapter.revoke_credential("0" * 64, "k/revoke") is False


async def test_revoke_twice_changes_the_cloud_once(adapter, keys, cloud_sim, http_client) -> None:
    credential = await issue(adapter, keys)

    await adapter.revoke_credential(credential.credential_id, "k/revoke-1")
    await adapter.revoke_credential(credential.credential_id, "k/revoke-2")

    state = await sim_state(http_client, cloud_sim)
    assert state["side_effects"]["credentials_revoked"] == 1


async def test_a_deregistered_device_leaves_its_credential_orphaned_until_revoked(
    adapter, keys, cloud_sim, http_client
) -> None:
    credential = await provision(adapter, keys)
    await adapter.deregister(DEVICE, "k/deregister")

    state = await sim_state(http_client, cloud_sim)

    assert state["orphaned_credentials"] == [credential.credential_id]


# --- idempotency ------------------------------------------------------------------------


async def test_issue_retried_with_the_same_key_issues_one_credential(
    adapter, keys, cloud_sim, http_client
) -> None:
    first = await issue(adapter, keys, "run-1/issue")
    again = await issue(adapter, keys, "run-1/issue")

    state = await sim_state(http_client, cloud_sim)
    assert again.credential_id == first.credential_id
    assert again.ownership_token.get_secret_value() == first.ownership_token.get_secret_value()
    assert state["side_effects"]["credentials_issued"] == 1
    assert state["idempotency"]["replays"] == 1


async def test_issue_with_two_keys_issues_two_credentials(
    adapter, keys, cloud_sim, http_client
) -> None:
    await issue(adapter, keys, "run-1/issue")
    await issue(adapter, keys, "run-2/issue")

    state = await sim_state(http_client, cloud_sim)
    assert state["side_effects"]["credentials_issued"] == 2
    assert len(await adapter.list_credentials(DEVICE)) == 2


async def test_register_retried_with_the_same_key_registers_once(
    adapter, keys, cloud_sim, http_client
) -> None:
    credential = await issue(adapter, keys)

    first = await adapter.register_device(DEVICE, {}, credential.ownership_token, "k/reg")
    again = await adapter.register_device(DEVICE, {}, credential.ownership_token, "k/reg")

    state = await sim_state(http_client, cloud_sim)
    assert again == first
    assert state["registrations_per_device"] == {DEVICE: 1}
    assert list(state["devices"]) == [DEVICE]


async def test_register_retried_with_a_new_key_is_a_conflict(adapter, keys) -> None:
    credential = await issue(adapter, keys)
    await adapter.register_device(DEVICE, {}, credential.ownership_token, "k/reg-1")

    with pytest.raises(CloudConflict) as caught:
        await adapter.register_device(DEVICE, {}, credential.ownership_token, "k/reg-2")

    assert_error(caught.value, ErrorCode.CLOUD_CONFLICT, retryable=False)
    assert caught.value.details["cloud_error"] == "device_exists"


async def test_attach_retried_with_the_same_key_attaches_once(
    adapter, keys, cloud_sim, http_client
) -> None:
    credential = await issue(adapter, keys)
    await adapter.register_device(DEVICE, {}, credential.ownership_token, "k/reg")

    await adapter.attach_policy(DEVICE, POLICY, "k/policy")
    await adapter.attach_policy(DEVICE, POLICY, "k/policy")

    state = await sim_state(http_client, cloud_sim)
    assert state["side_effects"]["policy_attachments"] == 1
    assert state["devices"][DEVICE]["policies"] == [POLICY]


async def test_same_key_with_another_body_is_an_idempotency_mismatch(adapter, keys) -> None:
    await issue(adapter, keys, "run-1/step")
    other = make_device_key_pair("plug-garage")

    with pytest.raises(CloudIdempotencyMismatch) as caught:
        await issue(adapter, other, "run-1/step")

    assert_error(caught.value, ErrorCode.CLOUD_IDEMPOTENCY_MISMATCH, retryable=False)
    assert caught.value.details["idempotency_key"] == "run-1/step"


async def test_an_answer_lost_after_the_cloud_acted_is_replayed_on_retry(
    adapter, keys, cloud, cloud_sim, http_client
) -> None:
    cloud.faults = CloudFaults(server_errors_after_commit=1)

    with pytest.raises(CloudUnavailable) as caught:
        await issue(adapter, keys, "run-1/issue")
    retried = await issue(adapter, keys, "run-1/issue")

    state = await sim_state(http_client, cloud_sim)
    assert_error(caught.value, ErrorCode.CLOUD_UNAVAILABLE, retryable=True)
    assert state["side_effects"]["credentials_issued"] == 1
    assert list(state["credentials"]) == [retried.credential_id]


async def test_a_registration_that_timed_out_but_took_effect_is_not_repeated(
    cloud, cloud_sim, http_client, keys
) -> None:
    adapter = adapter_for(http_client, cloud_sim, timeout=0.2)
    credential = await issue(adapter, keys)
    cloud.faults = CloudFaults(latency=0.5, endpoints=frozenset({Endpoint.REGISTER_DEVICE}))

    with pytest.raises(CloudTimeout):
        await adapter.register_device(DEVICE, {}, credential.ownership_token, "k/reg")
    cloud.faults = CloudFaults()
    retried = await adapter.register_device(DEVICE, {}, credential.ownership_token, "k/reg")
    await wait_until(lambda: cloud.gateway.requests[("register_device", 201)] == 2)

    state = await sim_state(http_client, cloud_sim)
    assert retried.credential_id == credential.credential_id
    assert state["registrations_per_device"] == {DEVICE: 1}
    assert state["idempotency"]["replays"] == 1


async def test_deregister_retried_after_a_lost_answer_reports_the_first_outcome(
    adapter, keys, cloud, cloud_sim, http_client
) -> None:
    await provision(adapter, keys)
    cloud.faults = CloudFaults(
        drop_connections=1, endpoints=frozenset({Endpoint.DEREGISTER_DEVICE})
    )

    with pytest.raises(CloudUnavailable):
        await adapter.deregister(DEVICE, "k/deregister")
    cloud.faults = CloudFaults()
    assert await adapter.deregister(DEVICE, "k/deregister") is True

    state = await sim_state(http_client, cloud_sim)
    assert state["side_effects"]["deregistrations"] == 1


async def wait_until(condition: Any, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# --- error codes ------------------------------------------------------------------------


async def test_invalid_claim_is_rejected_without_echoing_it(adapter, keys) -> None:
    wrong_claim = "not-the-claim-5d1e"

    with pytest.raises(CloudClaimRejected) as caught:
        await adapter.issue_credential(DEVICE, SecretStr(wrong_claim), keys.csr_pem, "k")

    assert_error(caught.value, ErrorCode.CLOUD_CLAIM_REJECTED, retryable=False)
    assert caught.value.details["cloud_error"] == "invalid_claim"
    assert_no_secret(caught.value, wrong_claim, CLAIM, API_KEY)


async def test_csr_for_another_device_is_an_invalid_request(adapter) -> None:
    other = make_device_key_pair("someone-else")

    with pytest.raises(CloudInvalidRequest) as caught:
        await adapter.issue_credential(DEVICE, SecretStr(CLAIM), other.csr_pem, "k")

    assert_error(caught.value, ErrorCode.CLOUD_INVALID_REQUEST, retryable=False)
    assert caught.value.details["cloud_error"] == "invalid_csr"
    assert "someone-else" in caught.value.message


async def test_a_csr_that_is_not_pem_is_an_invalid_request(adapter) -> None:
    with pytest.raises(CloudInvalidRequest) as caught:
        await adapter.issue_credential(DEVICE, SecretStr(CLAIM), "hello", "k")

    assert caught.value.details["cloud_error"] == "invalid_csr"


async def test_invalid_attributes_are_an_invalid_request(adapter, keys) -> None:
    credential = await issue(adapter, keys)

    with pytest.raises(CloudInvalidRequest) as caught:
        await adapter.register_device(
            DEVICE, {"bad name!": "x"}, credential.ownership_token, "k/reg"
        )

    assert caught.value.details["cloud_error"] == "invalid_body"
    assert_no_secret(caught.value, credential.ownership_token.get_secret_value())


async def test_a_wrong_ownership_token_is_forbidden_without_echoing_it(adapter) -> None:
    token = "forged-ownership-token-0b9e"

    with pytest.raises(CloudForbidden) as caught:
        await adapter.register_device(DEVICE, {}, SecretStr(token), "k/reg")

    assert_error(caught.value, ErrorCode.CLOUD_FORBIDDEN, retryable=False)
    assert caught.value.details["cloud_error"] == "invalid_ownership_token"
    assert_no_secret(caught.value, token)


async def test_an_ownership_token_of_another_device_is_forbidden(adapter, keys) -> None:
    credential = await issue(adapter, keys)

    with pytest.raises(CloudForbidden) as caught:
        await adapter.register_device("plug-garage", {}, credential.ownership_token, "k/reg")

    assert caught.value.details["cloud_error"] == "ownership_token_mismatch"


async def test_policy_on_an_unregistered_device_is_not_found(adapter) -> None:
    with pytest.raises(CloudNotFound) as caught:
        await adapter.attach_policy("never-registered", POLICY, "k/policy")

    assert_error(caught.value, ErrorCode.CLOUD_NOT_FOUND, retryable=False)
    assert caught.value.details["cloud_error"] == "device_not_found"


async def test_an_unknown_policy_is_not_found(adapter, keys) -> None:
    credential = await issue(adapter, keys)
    await adapter.register_device(DEVICE, {}, credential.ownership_token, "k/reg")

    with pytest.raises(CloudNotFound) as caught:
        await adapter.attach_policy(DEVICE, "no-such-policy", "k/policy")

    assert caught.value.details["cloud_error"] == "policy_not_found"


async def test_a_wrong_api_key_is_unauthorized(cloud_sim, http_client, keys) -> None:
    adapter = adapter_for(http_client, cloud_sim, api_key="wrong-key-e3c1")

    with pytest.raises(CloudUnauthorized) as caught:
        await issue(adapter, keys)

    assert_error(caught.value, ErrorCode.CLOUD_UNAUTHORIZED, retryable=False)
    assert_no_secret(caught.value, "wrong-key-e3c1", CLAIM)


async def test_server_errors_are_retryable_unavailable(adapter, keys, cloud) -> None:
    cloud.faults = CloudFaults(server_errors=1)

    with pytest.raises(CloudUnavailable) as caught:
        await issue(adapter, keys)

    assert_error(caught.value, ErrorCode.CLOUD_UNAVAILABLE, retryable=True)
    assert caught.value.details["http_status"] == "503"
    assert len(await adapter.list_credentials(DEVICE)) == 0


async def test_a_dropped_connection_is_retryable_unavailable(adapter, cloud) -> None:
    cloud.faults = CloudFaults(drop_connections=1)

    with pytest.raises(CloudUnavailable) as caught:
        await adapter.device_status(DEVICE)

    assert_error(caught.value, ErrorCode.CLOUD_UNAVAILABLE, retryable=True)


async def test_a_cloud_that_does_not_listen_is_retryable_unavailable(http_client) -> None:
    running = await start_cloud_simulator(config())
    address = running.base_url
    await running.close()
    adapter = WifiCloudAdapter(http_client, address, SecretStr(API_KEY), timeout=1.0)

    with pytest.raises(CloudUnavailable) as caught:
        await adapter.device_status(DEVICE)

    assert_error(caught.value, ErrorCode.CLOUD_UNAVAILABLE, retryable=True)


async def test_a_slow_cloud_is_a_retryable_timeout(cloud, cloud_sim, http_client) -> None:
    adapter = adapter_for(http_client, cloud_sim, timeout=0.2)
    cloud.faults = CloudFaults(latency=0.5)

    with pytest.raises(CloudTimeout) as caught:
        await adapter.device_status(DEVICE)

    assert_error(caught.value, ErrorCode.CLOUD_TIMEOUT, retryable=True)
    assert "0.2 s" in caught.value.message


async def test_an_answer_that_is_not_json_is_a_protocol_error(adapter, cloud) -> None:
    cloud.faults = CloudFaults(garbled=1)

    with pytest.raises(CloudProtocolError) as caught:
        await adapter.device_status(DEVICE)

    assert_error(caught.value, ErrorCode.CLOUD_PROTOCOL_ERROR, retryable=False)


async def test_faults_limited_to_one_endpoint_spare_the_others(adapter, keys, cloud) -> None:
    cloud.faults = CloudFaults(server_errors=5, endpoints=frozenset({Endpoint.ATTACH_POLICY}))
    credential = await issue(adapter, keys)
    await adapter.register_device(DEVICE, {}, credential.ownership_token, "k/reg")

    with pytest.raises(CloudUnavailable):
        await adapter.attach_policy(DEVICE, POLICY, "k/policy")


async def test_an_invalid_idempotency_key_is_refused_before_sending(
    adapter, keys, cloud_sim, http_client
) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        await issue(adapter, keys, "has spaces")

    assert (await sim_state(http_client, cloud_sim))["requests"] == {}


# --- 429 and Retry-After ----------------------------------------------------------------


async def test_throttling_is_rate_limited_with_the_retry_after_of_the_header(
    adapter, cloud
) -> None:
    cloud.faults = CloudFaults(throttle=1, throttle_retry_after=7)

    with pytest.raises(CloudRateLimited) as caught:
        await adapter.device_status(DEVICE)

    assert_error(caught.value, ErrorCode.CLOUD_RATE_LIMITED, retryable=True)
    assert caught.value.retry_after == 7.0


def test_retry_after_in_seconds_is_parsed() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(" 0 ") == 0.0


def test_retry_after_as_an_http_date_is_the_time_until_then() -> None:
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0


def test_unreadable_retry_after_is_ignored() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") == 0.0


# --- quota ------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud_config", [config(quota={"global_per_second": 5})])
async def test_the_cloud_never_admits_more_than_its_quota_per_second(
    adapter, cloud_sim, http_client
) -> None:
    results = await asyncio.gather(
        *(adapter.device_status(f"device-{n}") for n in range(25)), return_exceptions=True
    )

    throttled = [r for r in results if isinstance(r, CloudRateLimited)]
    answered = [r for r in results if not isinstance(r, BaseException)]
    quota = (await sim_state(http_client, cloud_sim))["quota"]
    assert len(throttled) + len(answered) == 25
    assert quota["peak_admitted_per_second"] <= 5
    assert quota["peak_offered_per_second"] > 5
    assert (quota["admitted_total"], quota["throttled_total"]) == (len(answered), len(throttled))
    assert throttled, "25 requests at once must exceed 5 per second"
    assert all(r.retry_after is not None and 0 < r.retry_after <= 1 for r in throttled)


@pytest.mark.parametrize("cloud_config", [config(quota={"client_per_second": 3})])
async def test_a_client_over_its_quota_does_not_throttle_another(
    adapter, cloud_sim, http_client
) -> None:
    await asyncio.gather(
        *(adapter.device_status(f"device-{n}") for n in range(10)), return_exceptions=True
    )
    other = adapter_for(http_client, cloud_sim, api_key=OTHER_API_KEY)

    status = await other.device_status(DEVICE)

    clients = (await sim_state(http_client, cloud_sim))["quota"]["clients"]
    assert status.registered is False
    assert clients["devprov"]["peak_admitted_per_second"] <= 3
    assert clients["devprov"]["throttled_total"] > 0
    assert clients["other"]["throttled_total"] == 0


async def test_the_quota_can_be_changed_through_the_control_api(
    adapter, cloud_sim, http_client
) -> None:
    response = await http_client.patch(
        f"{cloud_sim.base_url}/_sim/cloud/quota", json={"global_per_second": 1}
    )
    await adapter.device_status(DEVICE)

    with pytest.raises(CloudRateLimited):
        await adapter.device_status(DEVICE)
    assert response.json()["global_per_second"] == 1


# --- secrets ----------------------------------------------------------------------------


async def test_the_simulator_state_never_holds_a_secret(
    adapter, keys, cloud_sim, http_client
) -> None:
    credential = await provision(adapter, keys)
    await issue(adapter, keys, "run-2/issue")

    text = (await http_client.get(f"{cloud_sim.base_url}/_sim/cloud/state")).text
    faults = (await http_client.get(f"{cloud_sim.base_url}/_sim/cloud/faults")).text

    for secret in (
        API_KEY,
        OTHER_API_KEY,
        CLAIM,
        credential.ownership_token.get_secret_value(),
        keys.private_key_pem.get_secret_value(),
        "BEGIN CERTIFICATE",
    ):
        assert secret not in text
        assert secret not in faults


async def test_logs_never_contain_a_secret(adapter, keys, caplog) -> None:
    caplog.set_level(logging.DEBUG)

    credential = await provision(adapter, keys)
    with pytest.raises(CloudClaimRejected):
        await adapter.issue_credential(DEVICE, SecretStr("wrong-claim-1f"), keys.csr_pem, "k")

    assert "issued" in caplog.text
    for secret in (
        API_KEY,
        CLAIM,
        "wrong-claim-1f",
        credential.ownership_token.get_secret_value(),
        keys.private_key_pem.get_secret_value(),
    ):
        assert secret not in caplog.text


async def test_cloud_results_keep_their_secrets_through_the_temporal_converter(
    adapter, keys
) -> None:
    credential = await issue(adapter, keys)

    payloads = await pydantic_data_converter.encode([credential, keys])
    decoded_credential, decoded_keys = await pydantic_data_converter.decode(
        payloads, [IssuedCredential, DeviceKeyPair]
    )

    assert decoded_credential == credential
    assert decoded_keys.private_key_pem.get_secret_value() == (
        keys.private_key_pem.get_secret_value()
    )


def test_issued_credential_masks_its_ownership_token(keys) -> None:
    credential = IssuedCredential(
        device_id=DEVICE,
        credential_id="c" * 64,
        certificate_pem="-----BEGIN CERTIFICATE-----",
        not_after=datetime(2030, 1, 1, tzinfo=UTC),
        ownership_token=SecretStr("ownership-secret-77"),
        ownership_token_expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )

    assert "ownership-secret-77" not in repr(credential)
    assert "ownership-secret-77" in credential.model_dump_json()
