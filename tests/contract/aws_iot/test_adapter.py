"""Contract of the AWS IoT Core adapter against moto's server over HTTP.

What AWS holds is read from moto with a separate client, never from the adapter's own
answer. Faults come from the fault proxy between the SDK and moto.
"""

from __future__ import annotations

import logging

import pytest
from aiobotocore.session import AioSession
from cryptography.hazmat.primitives import serialization
from types_aiobotocore_iot import IoTClient

from adapters.aws_iot import AwsIotAdapter, AwsIotSettings, open_aws_iot_adapter
from adapters.cloud_errors import (
    CloudConflict,
    CloudError,
    CloudInvalidRequest,
    CloudNotFound,
    CloudRateLimited,
    CloudTimeout,
    CloudUnauthorized,
    CloudUnavailable,
)
from domain.errors import ErrorCode
from simulators.aws_iot import AwsFaultProxy, FaultKind, LocalAws, SimulatedAwsIotDevice
from tests.aws_fixtures import SECRET_ACCESS_KEY, SESSION_TOKEN
from tests.contract.aws_iot.helpers import (
    DEVICE_ID,
    GROUP,
    POLICY,
    RUN_ID,
    registration_request,
)

STEPS_AFTER_CERTIFICATE = [
    "CreateCertificateFromCsr",
    "AttachPolicy",
    "AttachThingPrincipal",
    "UpdateCertificate",
    "CreateThingGroup",
    "AddThingToThingGroup",
]
STEPS = ["CreateThing", *STEPS_AFTER_CERTIFICATE]


def fail_once(proxy: AwsFaultProxy, operation: str, kind: FaultKind) -> None:
    """Make the next call of `operation` fail with `kind`.

    aiohttp re-sends a GET, PUT or DELETE once when the kept-alive connection it used
    closes before any answer (RFC 9112, 9.3.1); a dropped call must be dropped twice to
    reach the adapter. Call `proxy.clear_faults()` after the failure.
    """
    proxy.inject(operation, kind, times=2 if kind.startswith("drop") else 1)


async def things(iot: IoTClient) -> list[str]:
    return [t["thingName"] for t in (await iot.list_things())["things"]]


async def certificates(iot: IoTClient) -> list[tuple[str, str]]:
    listed = (await iot.list_certificates())["certificates"]
    return [(c["certificateId"], c["status"]) for c in listed]


async def group_members(iot: IoTClient, group: str = GROUP) -> list[str]:
    try:
        return (await iot.list_things_in_thing_group(thingGroupName=group))["things"]
    except iot.exceptions.ResourceNotFoundException:
        return []


async def assert_registered_once(iot: IoTClient) -> str:
    """Exactly one thing with exactly one ACTIVE certificate, policy and group; its id."""
    assert await things(iot) == [DEVICE_ID]
    [(certificate_id, status)] = await certificates(iot)
    assert status == "ACTIVE"
    certificate_arn = (await iot.describe_certificate(certificateId=certificate_id))[
        "certificateDescription"
    ]["certificateArn"]
    assert (await iot.list_thing_principals(thingName=DEVICE_ID))["principals"] == [certificate_arn]
    policies = (await iot.list_attached_policies(target=certificate_arn))["policies"]
    assert [p["policyName"] for p in policies] == [POLICY]
    assert await group_members(iot) == [DEVICE_ID]
    return certificate_id


async def assert_nothing_left(iot: IoTClient) -> None:
    assert await things(iot) == []
    assert await certificates(iot) == []
    assert await group_members(iot) == []


async def test_registration_makes_a_thing_with_an_active_certificate_policy_and_group(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    registration = await aws_adapter.register_thing(registration_request(device))

    certificate_id = await assert_registered_once(moto_iot)
    assert registration.certificate_id == certificate_id
    thing = await moto_iot.describe_thing(thingName=DEVICE_ID)
    assert thing["attributes"] == {
        "vendor": "shelly",
        "model": "SNSW-001X16EU",
        "firmware": "1.4.2",
        "devprov_run": RUN_ID,
    }
    device.receive_certificate(registration.certificate_pem)
    assert device.has_certificate


async def test_registration_gives_the_thing_its_type(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    await moto_iot.create_thing_type(thingTypeName="smart-plug")

    await aws_adapter.register_thing(registration_request(device, thing_type="smart-plug"))

    assert (await moto_iot.describe_thing(thingName=DEVICE_ID))["thingTypeName"] == "smart-plug"


async def test_registering_again_changes_nothing(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    fault_proxy: AwsFaultProxy,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    first = await aws_adapter.register_thing(registration_request(device))
    fault_proxy.clear()

    again = await aws_adapter.register_thing(registration_request(device))

    assert again == first
    assert await assert_registered_once(moto_iot) == first.certificate_id
    mutating = {"CreateThing", "CreateCertificateFromCsr", "AttachPolicy", "AddThingToThingGroup"}
    assert mutating.isdisjoint(fault_proxy.operations)


@pytest.mark.parametrize(
    ("step", "kind"),
    [(step, "drop_after_commit") for step in STEPS]
    + [("CreateCertificateFromCsr", "server_error"), ("AttachThingPrincipal", "drop")],
)
async def test_a_registration_retried_after_a_failure_at_any_step_converges(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    fault_proxy: AwsFaultProxy,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
    step: str,
    kind: FaultKind,
) -> None:
    fail_once(fault_proxy, step, kind)
    with pytest.raises(CloudUnavailable) as failure:
        await aws_adapter.register_thing(registration_request(device))
    fault_proxy.clear_faults()
    assert failure.value.retryable
    assert failure.value.details["operation"] == step

    await aws_adapter.register_thing(registration_request(device))

    await assert_registered_once(moto_iot)


async def test_the_sdk_makes_one_attempt_per_call_whatever_the_environment_says(
    aws_adapter: AwsIotAdapter,
    fault_proxy: AwsFaultProxy,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    fault_proxy.inject("CreateThing", "server_error", times=3)
    fault_proxy.inject("DescribeThing", "throttle", times=3)

    for _ in range(2):
        with pytest.raises(CloudError):
            await aws_adapter.register_thing(registration_request(device))

    assert fault_proxy.count("DescribeThing") == 2  # AWS_MAX_ATTEMPTS=5 is ignored
    assert fault_proxy.count("CreateThing") == 0


async def test_a_dropped_create_is_sent_once(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    fault_proxy: AwsFaultProxy,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    fault_proxy.inject("CreateCertificateFromCsr", "drop_after_commit")

    with pytest.raises(CloudUnavailable):
        await aws_adapter.register_thing(registration_request(device))

    assert fault_proxy.count("CreateCertificateFromCsr") == 1
    assert len(await certificates(moto_iot)) == 1


@pytest.mark.parametrize("step", STEPS_AFTER_CERTIFICATE)
async def test_undo_after_a_failure_once_the_certificate_exists_leaves_nothing(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    fault_proxy: AwsFaultProxy,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
    step: str,
) -> None:
    request = registration_request(device)
    fail_once(fault_proxy, step, "drop_after_commit")
    with pytest.raises(CloudUnavailable):
        await aws_adapter.register_thing(request)
    fault_proxy.clear_faults()
    assert len(await certificates(moto_iot)) == 1

    removal = await aws_adapter.remove_thing(request)

    await assert_nothing_left(moto_iot)
    assert removal.thing_deleted
    assert len(removal.certificates_deleted) == 1


async def test_undo_of_a_full_registration_leaves_nothing_and_can_run_again(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    request = registration_request(device)
    await aws_adapter.register_thing(request)

    await aws_adapter.remove_thing(request)
    again = await aws_adapter.remove_thing(request)

    await assert_nothing_left(moto_iot)
    assert not again.thing_deleted
    assert again.certificates_deleted == ()
    # The site's group stays for the site's other devices.
    assert (await moto_iot.describe_thing_group(thingGroupName=GROUP))["thingGroupName"] == GROUP


async def test_undo_before_anything_was_made_is_not_an_error(
    aws_adapter: AwsIotAdapter, moto_iot: IoTClient, device: SimulatedAwsIotDevice
) -> None:
    removal = await aws_adapter.remove_thing(registration_request(device))

    assert not removal.thing_deleted
    await assert_nothing_left(moto_iot)


@pytest.mark.parametrize(
    "step", ["UpdateCertificate", "DetachPolicy", "DetachThingPrincipal", "DeleteCertificate"]
)
async def test_an_interrupted_undo_run_again_finishes(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    fault_proxy: AwsFaultProxy,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
    step: str,
) -> None:
    request = registration_request(device)
    await aws_adapter.register_thing(request)
    fail_once(fault_proxy, step, "drop_after_commit")
    with pytest.raises(CloudUnavailable):
        await aws_adapter.remove_thing(request)
    fault_proxy.clear_faults()

    await aws_adapter.remove_thing(request)

    await assert_nothing_left(moto_iot)


async def test_throttling_is_rate_limited_with_the_delay_to_wait_then_succeeds(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    fault_proxy: AwsFaultProxy,
    aws_settings: AwsIotSettings,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    fault_proxy.inject("CreateCertificateFromCsr", "throttle")

    with pytest.raises(CloudRateLimited) as throttled:
        await aws_adapter.register_thing(registration_request(device))
    await aws_adapter.register_thing(registration_request(device))

    assert throttled.value.code is ErrorCode.CLOUD_RATE_LIMITED
    assert throttled.value.retryable
    assert throttled.value.retry_after == aws_settings.throttle_retry_after
    assert throttled.value.details["aws_error"] == "ThrottlingException"
    await assert_registered_once(moto_iot)


async def test_a_throttled_answer_naming_its_delay_is_waited_that_long(
    aws_adapter: AwsIotAdapter,
    fault_proxy: AwsFaultProxy,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    fault_proxy.inject("DescribeThing", "throttle", retry_after=7)

    with pytest.raises(CloudRateLimited) as throttled:
        await aws_adapter.register_thing(registration_request(device))

    assert throttled.value.retry_after == 7


@pytest.mark.parametrize("kind", ["server_error", "drop"])
async def test_server_errors_and_dropped_connections_are_retryable_unavailable(
    aws_adapter: AwsIotAdapter,
    fault_proxy: AwsFaultProxy,
    device: SimulatedAwsIotDevice,
    kind: FaultKind,
) -> None:
    fail_once(fault_proxy, "DescribeThing", kind)

    with pytest.raises(CloudUnavailable) as failure:
        await aws_adapter.register_thing(registration_request(device))

    assert failure.value.code is ErrorCode.CLOUD_UNAVAILABLE
    assert failure.value.retryable


async def test_an_answer_slower_than_the_read_timeout_is_a_retryable_timeout(
    fault_proxy: AwsFaultProxy,
    sdk_session: AioSession,
    device: SimulatedAwsIotDevice,
) -> None:
    fault_proxy.inject("DescribeThing", "stall", seconds=2.0)
    settings = AwsIotSettings(
        iot_endpoint_url=fault_proxy.url, iot_data_endpoint_url=fault_proxy.url, read_timeout=0.3
    )

    async with open_aws_iot_adapter(settings, session=sdk_session) as adapter:
        with pytest.raises(CloudTimeout) as slow:
            await adapter.register_thing(registration_request(device))

    assert slow.value.code is ErrorCode.CLOUD_TIMEOUT
    assert slow.value.retryable
    assert fault_proxy.count("DescribeThing") == 1


async def test_a_policy_that_does_not_exist_is_not_found_and_undo_cleans_up(
    aws_adapter: AwsIotAdapter, moto_iot: IoTClient, device: SimulatedAwsIotDevice
) -> None:
    request = registration_request(device, policy="no-such-policy")

    with pytest.raises(CloudNotFound) as missing:
        await aws_adapter.register_thing(request)
    await aws_adapter.remove_thing(request)

    assert missing.value.code is ErrorCode.CLOUD_NOT_FOUND
    assert not missing.value.retryable
    assert missing.value.details["operation"] == "AttachPolicy"
    assert missing.value.details["policy_name"] == "no-such-policy"
    await assert_nothing_left(moto_iot)


async def test_a_thing_type_that_does_not_exist_is_not_found(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    with pytest.raises(CloudNotFound) as missing:
        await aws_adapter.register_thing(registration_request(device, thing_type="no-such-type"))

    assert missing.value.details["operation"] == "CreateThing"
    assert await things(moto_iot) == []


async def test_a_thing_of_another_run_is_a_conflict_and_its_undo_keeps_it(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    await aws_adapter.register_thing(registration_request(device, run_id="run-in-service"))
    other_run = registration_request(device, run_id="run-2")

    with pytest.raises(CloudConflict) as conflict:
        await aws_adapter.register_thing(other_run)
    removal = await aws_adapter.remove_thing(other_run)

    assert conflict.value.code is ErrorCode.CLOUD_CONFLICT
    assert not conflict.value.retryable
    assert conflict.value.details["owner_run"] == "run-in-service"
    assert removal.thing_kept_for_other_owner
    await assert_registered_once(moto_iot)


async def test_attributes_aws_cannot_hold_are_refused_before_any_call(
    aws_adapter: AwsIotAdapter, fault_proxy: AwsFaultProxy, device: SimulatedAwsIotDevice
) -> None:
    request = registration_request(device).model_copy(
        update={"attributes": {"location": "Kitchen, 2nd floor"}}
    )

    with pytest.raises(CloudInvalidRequest) as refused:
        await aws_adapter.register_thing(request)

    assert "location" in refused.value.message
    assert fault_proxy.operations == []


async def test_a_thing_made_outside_devprov_is_a_conflict(
    aws_adapter: AwsIotAdapter,
    moto_iot: IoTClient,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    await moto_iot.create_thing(thingName=DEVICE_ID)

    with pytest.raises(CloudConflict):
        await aws_adapter.register_thing(registration_request(device))

    assert await certificates(moto_iot) == []


async def test_no_credentials_in_the_chain_is_unauthorized(
    aws_env: LocalAws,
    aws_settings: AwsIotSettings,
    monkeypatch: pytest.MonkeyPatch,
    device: SimulatedAwsIotDevice,
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_ENDPOINT_URL_IOT", aws_env.url)

    async with open_aws_iot_adapter(aws_settings) as adapter:
        with pytest.raises(CloudUnauthorized) as refused:
            await adapter.register_thing(registration_request(device))

    assert refused.value.code is ErrorCode.CLOUD_UNAUTHORIZED


async def test_no_secret_reaches_logs_errors_or_results(
    fault_proxy: AwsFaultProxy,
    aws_settings: AwsIotSettings,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Temporary credentials, as from a role: the session token is a secret too.
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_ENDPOINT_URL_IOT", fault_proxy.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_IOT_DATA_PLANE", fault_proxy.url)
    caplog.set_level(logging.DEBUG)
    request = registration_request(device)
    errors: list[CloudError] = []
    faults: list[tuple[str, FaultKind]] = [
        ("CreateThing", "throttle"),
        ("AttachPolicy", "drop_after_commit"),
    ]
    async with open_aws_iot_adapter(aws_settings) as adapter:
        for step, kind in faults:
            fail_once(fault_proxy, step, kind)
            with pytest.raises(CloudError) as failure:
                await adapter.register_thing(request)
            fault_proxy.clear_faults()
            errors.append(failure.value)
        registration = await adapter.register_thing(request)
        await adapter.confirm_network(DEVICE_ID, "home")
        await adapter.remove_thing(request)

    private_key = device._key
    assert private_key is not None
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key_body = private_pem.splitlines()[1]
    # The SDK's own debug logs were captured too, the signed requests among them.
    assert "x-amz-security-token" in caplog.text.lower()
    shown = [caplog.text, registration.model_dump_json(), repr(device)]
    shown += [f"{e!s} {e!r} {e.details} {e.__cause__!s}" for e in errors]
    for text in shown:
        assert SECRET_ACCESS_KEY not in text
        assert SESSION_TOKEN not in text
        assert key_body not in text
