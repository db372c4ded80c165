"""The simulated vendor cloud: quota, idempotency store, registry rules, control API."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from adapters.wifi_cloud import make_device_key_pair
from simulators.wifi_cloud import (
    DEV_API_KEY,
    DEV_CLAIM_TOKEN,
    CloudApiError,
    CloudConfig,
    CloudFaults,
    CloudRegistry,
    Endpoint,
    IdempotencyKeyReused,
    IdempotencyStore,
    QuotaConfig,
    RateMeter,
    SimulatedCloud,
    SlidingWindowQuota,
    checkin_body,
    create_cloud_app,
)
from simulators.wifi_cloud.__main__ import config_from
from simulators.wifi_cloud.authority import checkin_message
from simulators.wifi_cloud.device_agent import sign
from simulators.wifi_cloud.gateway import RequestGateway
from simulators.wifi_cloud.idempotency import StoredAnswer, request_fingerprint

CLAIM = "unit-claim-token-4b7d"
POLICY = "devprov-device"
ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


class FakeClock:
    """A monotonic clock and a wall clock that move together, only when told to."""

    def __init__(self) -> None:
        self.now = 100.0
        self.wall = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> float:
        return self.now

    def wall_clock(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def registry(clock: FakeClock, **changes: Any) -> CloudRegistry:
    config = CloudConfig.model_validate({"claim_tokens": [CLAIM], "policies": [POLICY], **changes})
    return CloudRegistry(config, clock=clock, wall_clock=clock.wall_clock)


# --- sliding-window quota ---------------------------------------------------------------


def test_quota_admits_up_to_its_limit_within_one_second(clock: FakeClock) -> None:
    quota = SlidingWindowQuota(3)

    admitted = [quota.try_admit(clock.now + i * 0.1) for i in range(4)]

    assert admitted[:3] == [0.0, 0.0, 0.0]
    assert admitted[3] == pytest.approx(0.7)


def test_quota_frees_a_slot_when_the_oldest_admission_leaves_the_window() -> None:
    quota = SlidingWindowQuota(2)
    quota.try_admit(10.0)
    quota.try_admit(10.4)

    assert quota.wait_time(10.99) == pytest.approx(0.01)
    assert quota.try_admit(11.0) == 0.0
    assert quota.wait_time(11.0) == pytest.approx(0.4)


def test_quota_never_admits_more_than_its_limit_in_any_second() -> None:
    quota = SlidingWindowQuota(5)
    meter = RateMeter()

    for step in range(1000):
        now = step * 0.013
        if quota.try_admit(now) == 0.0:
            meter.record(now)

    assert meter.peak == 5
    assert 60 <= meter.total <= 70  # 13 s at 5 per second: the quota is also reached


def test_a_rejected_request_does_not_use_the_quota() -> None:
    quota = SlidingWindowQuota(1)
    quota.try_admit(0.0)

    for _ in range(10):
        assert quota.try_admit(0.5) > 0

    assert quota.try_admit(1.0) == 0.0


def test_admitting_beyond_the_limit_is_a_programming_error() -> None:
    quota = SlidingWindowQuota(1)
    quota.admit(0.0)

    with pytest.raises(RuntimeError):
        quota.admit(0.1)


def test_rate_meter_keeps_the_peak_of_any_one_second_window() -> None:
    meter = RateMeter()
    for now in (0.0, 0.5, 0.9, 1.2, 1.3, 1.4, 5.0):
        meter.record(now)

    assert (meter.peak, meter.total) == (5, 7)


def test_gateway_admits_only_when_both_global_and_client_quotas_allow() -> None:
    gateway = RequestGateway(QuotaConfig(global_per_second=3, client_per_second=2), CloudFaults())

    results = [gateway.admit(client, 0.0) for client in ("a", "a", "a", "b", "b")]

    assert [r == 0.0 for r in results] == [True, True, False, True, False]
    quota = gateway.snapshot()["quota"]
    assert isinstance(quota, dict)
    assert (quota["admitted_total"], quota["throttled_total"]) == (3, 2)
    assert quota["peak_admitted_per_second"] == 3


# --- idempotency store ------------------------------------------------------------------


ANSWER = StoredAnswer(201, b'{"credential_id": "c1"}')


def test_a_new_key_has_nothing_to_replay() -> None:
    store = IdempotencyStore(ttl=60)

    assert store.lookup("client", "k1", "fp", now=0.0) is None


def test_the_same_key_and_request_replay_the_first_answer() -> None:
    store = IdempotencyStore(ttl=60)
    store.remember("client", "k1", "fp", ANSWER, now=0.0)

    assert store.lookup("client", "k1", "fp", now=1.0) == ANSWER
    assert store.replays == 1


def test_the_first_answer_stays_even_if_another_is_remembered() -> None:
    store = IdempotencyStore(ttl=60)
    store.remember("client", "k1", "fp", ANSWER, now=0.0)
    store.remember("client", "k1", "fp", StoredAnswer(201, b"{}"), now=0.5)

    assert store.lookup("client", "k1", "fp", now=1.0) == ANSWER


def test_the_same_key_with_another_request_is_refused() -> None:
    store = IdempotencyStore(ttl=60)
    store.remember("client", "k1", "fp-a", ANSWER, now=0.0)

    with pytest.raises(IdempotencyKeyReused):
        store.lookup("client", "k1", "fp-b", now=1.0)
    assert store.mismatches == 1


def test_keys_are_scoped_per_client() -> None:
    store = IdempotencyStore(ttl=60)
    store.remember("client-a", "k1", "fp-a", ANSWER, now=0.0)

    assert store.lookup("client-b", "k1", "fp-b", now=0.0) is None


def test_keys_expire_after_their_time_to_live() -> None:
    store = IdempotencyStore(ttl=60)
    store.remember("client", "k1", "fp", ANSWER, now=0.0)
    store.remember("client", "k2", "fp", ANSWER, now=30.0)

    assert store.lookup("client", "k1", "fp", now=59.9) == ANSWER
    assert store.lookup("client", "k1", "fp", now=60.0) is None
    assert len(store) == 1


def test_fingerprints_ignore_key_order_but_not_values() -> None:
    one = request_fingerprint("POST", "/v1/devices", {"a": 1, "b": 2})

    assert one == request_fingerprint("post", "/v1/devices", {"b": 2, "a": 1})
    assert one != request_fingerprint("POST", "/v1/devices", {"a": 1, "b": 3})
    assert one != request_fingerprint("POST", "/v1/credentials", {"a": 1, "b": 2})


# --- registry rules ---------------------------------------------------------------------


def issue(cloud: CloudRegistry, device_id: str = "d1") -> tuple[str, str, str]:
    """Issue a credential; returns (credential id, ownership token, private key PEM)."""
    pair = make_device_key_pair(device_id)
    issued = cloud.issue_credential(device_id, CLAIM, pair.csr_pem)
    return (
        issued.credential.credential_id,
        issued.ownership_token,
        pair.private_key_pem.get_secret_value(),
    )


def test_an_ownership_token_registers_one_device_once(clock: FakeClock) -> None:
    cloud = registry(clock)
    _, token, _ = issue(cloud)
    cloud.register_device("d1", {}, token)
    cloud.deregister_device("d1")

    with pytest.raises(CloudApiError) as caught:
        cloud.register_device("d1", {}, token)

    assert (caught.value.status, caught.value.error) == (403, "ownership_token_used")


def test_an_ownership_token_expires(clock: FakeClock) -> None:
    cloud = registry(clock, ownership_token_ttl=60)
    _, token, _ = issue(cloud)
    clock.advance(60)

    with pytest.raises(CloudApiError) as caught:
        cloud.register_device("d1", {}, token)

    assert caught.value.error == "ownership_token_expired"


def test_a_revoked_credential_cannot_register(clock: FakeClock) -> None:
    cloud = registry(clock)
    credential_id, token, _ = issue(cloud)
    cloud.revoke_credential(credential_id)

    with pytest.raises(CloudApiError) as caught:
        cloud.register_device("d1", {}, token)

    assert caught.value.error == "credential_revoked"


def test_auto_check_in_happens_after_its_delay(clock: FakeClock) -> None:
    cloud = registry(clock, auto_checkin_delay=2.0)
    _, token, _ = issue(cloud)
    cloud.register_device("d1", {}, token)
    cloud.attach_policy("d1", POLICY)

    clock.advance(1.9)
    before = cloud.device("d1").last_checkin_at
    clock.advance(0.2)
    after = cloud.device("d1").last_checkin_at

    assert before is None
    assert after == clock.wall - timedelta(seconds=0.1)


def test_auto_check_in_needs_a_policy(clock: FakeClock) -> None:
    cloud = registry(clock, auto_checkin_delay=0.0)
    _, token, _ = issue(cloud)
    cloud.register_device("d1", {}, token)
    clock.advance(10)

    assert cloud.device("d1").last_checkin_at is None


def test_a_revoked_credential_stops_the_auto_check_in(clock: FakeClock) -> None:
    cloud = registry(clock, auto_checkin_delay=5.0)
    credential_id, token, _ = issue(cloud)
    cloud.register_device("d1", {}, token)
    cloud.attach_policy("d1", POLICY)
    cloud.revoke_credential(credential_id)
    clock.advance(10)

    assert cloud.device("d1").last_checkin_at is None


def test_a_signed_check_in_is_accepted_and_a_stale_one_refused(clock: FakeClock) -> None:
    cloud = registry(clock)
    credential_id, token, key = issue(cloud)
    cloud.register_device("d1", {}, token)
    cloud.attach_policy("d1", POLICY)
    stamp = int(clock.wall.timestamp())

    stale = stamp - 3600
    with pytest.raises(CloudApiError) as caught:
        cloud.check_in(
            "d1", credential_id, stale, sign(key, checkin_message("d1", credential_id, stale))
        )
    record = cloud.check_in(
        "d1", credential_id, stamp, sign(key, checkin_message("d1", credential_id, stamp))
    )

    assert caught.value.error == "stale_timestamp"
    assert record.last_checkin_at == clock.wall


def test_a_device_without_policy_cannot_check_in(clock: FakeClock) -> None:
    cloud = registry(clock)
    credential_id, token, key = issue(cloud)
    cloud.register_device("d1", {}, token)
    stamp = int(clock.wall.timestamp())

    with pytest.raises(CloudApiError) as caught:
        cloud.check_in(
            "d1", credential_id, stamp, sign(key, checkin_message("d1", credential_id, stamp))
        )

    assert caught.value.error == "no_policy"


def test_orphaned_credentials_are_the_active_ones_no_device_uses(clock: FakeClock) -> None:
    cloud = registry(clock)
    used, token, _ = issue(cloud)
    spare, _, _ = issue(cloud)
    revoked, _, _ = issue(cloud)
    cloud.register_device("d1", {}, token)
    cloud.revoke_credential(revoked)

    assert cloud.orphaned_credentials() == [spare]
    assert used not in cloud.orphaned_credentials()


def test_a_csr_with_a_weak_rsa_key_is_refused(clock: FakeClock) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "d1")]))
        .sign(key, hashes.SHA256())
    )
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()

    with pytest.raises(CloudApiError) as caught:
        registry(clock).issue_credential("d1", CLAIM, pem)

    assert caught.value.error == "invalid_csr"
    assert "2048" in caught.value.message


# --- faults -----------------------------------------------------------------------------


def test_counted_faults_are_used_up_one_request_at_a_time() -> None:
    gateway = RequestGateway(QuotaConfig(), CloudFaults(server_errors=2))

    taken = [gateway.take_fault("server_errors", Endpoint.DEVICE_STATUS) for _ in range(3)]

    assert taken == [True, True, False]
    assert gateway.faults.server_errors == 0
    assert gateway.faults_injected["server_errors"] == 2


def test_faults_spare_the_device_check_in_unless_named() -> None:
    spared = RequestGateway(QuotaConfig(), CloudFaults(server_errors=1))
    named = RequestGateway(
        QuotaConfig(), CloudFaults(server_errors=1, endpoints=frozenset({Endpoint.CHECKIN}))
    )

    assert spared.take_fault("server_errors", Endpoint.CHECKIN) is False
    assert named.take_fault("server_errors", Endpoint.CHECKIN) is True


def test_the_server_error_rate_is_reproducible_with_a_seed() -> None:
    def failures(seed: int) -> list[bool]:
        gateway = RequestGateway(QuotaConfig(), CloudFaults(server_error_rate=0.3), seed=seed)
        return [gateway.random_server_error(Endpoint.REGISTER_DEVICE) for _ in range(200)]

    first = failures(7)

    assert first == failures(7)
    assert 30 < sum(first) < 90


# --- control API and command line -------------------------------------------------------


@pytest.fixture
def sim_cloud(clock: FakeClock) -> SimulatedCloud:
    config = CloudConfig(claim_tokens=frozenset({CLAIM}))
    return SimulatedCloud(config, clock=clock, wall_clock=clock.wall_clock)


@pytest.fixture
async def client(aiohttp_client: ClientFactory, sim_cloud: SimulatedCloud) -> TestClient[Any, Any]:
    return await aiohttp_client(create_cloud_app(sim_cloud))


AUTH = {"Authorization": f"Bearer {DEV_API_KEY}"}


async def test_patching_faults_keeps_the_knobs_not_named(client, sim_cloud) -> None:
    await client.patch("/_sim/cloud/faults", json={"latency": 0.0, "server_errors": 2})

    response = await client.patch("/_sim/cloud/faults", json={"throttle": 1})

    assert response.status == 200
    assert (sim_cloud.faults.server_errors, sim_cloud.faults.throttle) == (2, 1)


async def test_invalid_faults_are_refused(client) -> None:
    response = await client.patch("/_sim/cloud/faults", json={"server_error_rate": 2})

    assert response.status == 422
    assert (await response.json())["error"] == "invalid_body"


async def test_reset_forgets_devices_keys_counters_and_faults(client, sim_cloud) -> None:
    pair = make_device_key_pair("d1")
    body = {"device_id": "d1", "claim_token": CLAIM, "csr_pem": pair.csr_pem}
    await client.post("/v1/credentials", json=body, headers={**AUTH, "Idempotency-Key": "k"})
    sim_cloud.faults = CloudFaults(server_errors=3)

    state = await (await client.post("/_sim/cloud/reset")).json()

    assert state["credentials"] == {}
    assert state["requests"] == {}
    assert state["idempotency"]["keys_stored"] == 0
    assert state["faults"]["server_errors"] == 0


async def test_a_forced_check_in_shows_in_the_state(client, sim_cloud) -> None:
    credential_id, token, _ = issue(sim_cloud.registry)
    sim_cloud.registry.register_device("d1", {}, token)

    response = await client.post("/_sim/cloud/devices/d1/checkin")

    assert response.status == 200
    state = await (await client.get("/_sim/cloud/state")).json()
    assert state["devices"]["d1"]["last_checkin_at"] is not None
    assert state["devices"]["d1"]["credential_id"] == credential_id


async def test_requests_without_an_api_key_are_unauthenticated(client) -> None:
    response = await client.get("/v1/devices/d1")

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_an_invalid_body_is_refused_without_echoing_it(client) -> None:
    response = await client.post(
        "/v1/credentials",
        json={"device_id": "d1", "claim_token": CLAIM, "csr_pem": "x", "extra": CLAIM},
        headers=AUTH,
    )

    assert response.status == 422
    assert CLAIM not in await response.text()


async def test_a_check_in_needs_no_api_key_but_a_valid_proof(client, sim_cloud) -> None:
    credential_id, token, key = issue(sim_cloud.registry)
    sim_cloud.registry.register_device("d1", {}, token)
    sim_cloud.registry.attach_policy("d1", POLICY)
    stamp = int(sim_cloud.registry.wall_now().timestamp())

    good = await client.post(
        "/v1/devices/d1/checkin", json=checkin_body("d1", credential_id, key, timestamp=stamp)
    )
    forged = await client.post(
        "/v1/devices/d1/checkin",
        json={"credential_id": credential_id, "timestamp": stamp, "signature": "AAAA"},
    )

    assert good.status == 200
    assert (forged.status, (await forged.json())["error"]) == (401, "invalid_signature")


async def test_throttled_answers_say_when_to_retry(client, sim_cloud) -> None:
    sim_cloud.quota = QuotaConfig(global_per_second=1)

    first = await client.get("/v1/devices/d1", headers=AUTH)
    second = await client.get("/v1/devices/d1", headers=AUTH)

    assert first.status == 404
    assert second.status == 429
    assert second.headers["Retry-After"] == "1"
    assert 0 < (await second.json())["retry_after"] <= 1


def test_command_line_defaults_are_the_development_cloud() -> None:
    args = argparse.Namespace(quota=50, client_quota=None, auto_checkin_delay=-1.0)

    config = config_from(args, {})

    assert config.claim_tokens == frozenset({DEV_CLAIM_TOKEN})
    assert config.api_keys == {DEV_API_KEY: "devprov"}
    assert config.quota.global_per_second == 50
    assert config.auto_checkin_delay is None


def test_command_line_takes_secrets_from_the_environment() -> None:
    args = argparse.Namespace(quota=None, client_quota=None, auto_checkin_delay=1.0)

    config = config_from(args, {"DEVPROV_CLOUD_API_KEY": "k", "DEVPROV_CLOUD_CLAIM_TOKENS": "a, b"})

    assert config.api_keys == {"k": "devprov"}
    assert config.claim_tokens == frozenset({"a", "b"})
    assert config.auto_checkin_delay == 1.0


def test_command_line_with_an_empty_claim_list_accepts_the_development_claim() -> None:
    args = argparse.Namespace(quota=None, client_quota=None, auto_checkin_delay=1.0)

    config = config_from(args, {"DEVPROV_CLOUD_API_KEY": "", "DEVPROV_CLOUD_CLAIM_TOKENS": " , "})

    assert config.api_keys == {DEV_API_KEY: "devprov"}
    assert config.claim_tokens == frozenset({DEV_CLAIM_TOKEN})
