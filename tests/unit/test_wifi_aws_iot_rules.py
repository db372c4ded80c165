"""The `wifi-aws-iot` family's rules: which devices it serves, which it refuses, and what
its central worker asks of AWS for a run (the tenant's policy, the thing's facts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from activities.aws_iot import AwsIotActivities
from activities.aws_sdk_missing import AwsSdkMissingActivities
from adapters.cloud_errors import CloudInvalidRequest
from config.settings import Settings
from domain.aws_iot import (
    AwsIotRunRegistration,
    AwsThingDeregistration,
    AwsThingRegistration,
    AwsThingRegistrationRequest,
    AwsThingRemoval,
    ShadowNetworkReport,
)
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice
from strategies.catalog import build_registry
from strategies.wifi_aws_iot import WifiAwsIotActivity, WifiAwsIotStrategy
from worker.families.wifi_aws_iot import aws_iot_activities

CSR = "-----BEGIN CERTIFICATE REQUEST-----\n...\n-----END CERTIFICATE REQUEST-----\n"


def device(device_id: str = "plug-hall", *capabilities: str) -> DeviceDescriptor:
    return DeviceDescriptor(
        device_id=device_id,
        type="wifi-relay",
        vendor="shelly",
        capabilities=frozenset(capabilities or {"wifi", "http-rpc", "aws-iot"}),
    )


class UnusedAws:
    """The port, for tests of what happens before any AWS call."""

    async def register_thing(self, request: AwsThingRegistrationRequest) -> AwsThingRegistration:
        raise AssertionError("no AWS call expected")

    async def remove_thing(self, request: AwsThingRegistrationRequest) -> AwsThingRemoval:
        raise AssertionError("no AWS call expected")

    async def deregister_thing(self, request: AwsThingDeregistration) -> AwsThingRemoval:
        raise AssertionError("no AWS call expected")

    async def confirm_network(self, device_id: str, expected_ssid: str) -> ShadowNetworkReport:
        raise AssertionError("no AWS call expected")


def registration(device_id: str = "plug-hall", tenant: str = "acme") -> AwsIotRunRegistration:
    return AwsIotRunRegistration(
        device_id=device_id,
        tenant=tenant,
        site="lab",
        csr_pem=CSR,
        run_id="0192f0c4-7d2a-7c1e-9a55-3f1c2b4d5e6f",
        created_after=datetime(2026, 12, 1, tzinfo=UTC),
        attributes={"vendor": "shelly", "model": "SNSW-001X16EU"},
    )


def test_a_wifi_device_with_aws_iot_is_served_by_wifi_aws_iot() -> None:
    registry = build_registry()

    assert registry.select(device()).name == "wifi-aws-iot"
    assert registry.select(device("plug-hall", "wifi", "http-rpc")).name == "http-wifi"


def test_a_device_id_that_cannot_be_a_thing_name_fails_the_pre_check() -> None:
    requested = device("plug.hall")

    verdict = WifiAwsIotStrategy().pre_check(requested, DetectedDevice(device_id="plug.hall"))

    assert verdict.reasons == [
        "device id 'plug.hall' cannot be an AWS IoT thing name "
        "(letters, digits, ':', '_' and '-' only)"
    ]


def test_a_device_in_set_up_mode_with_a_thing_name_passes() -> None:
    verdict = WifiAwsIotStrategy().pre_check(device(), DetectedDevice(device_id="plug-hall"))

    assert verdict.passed


def test_the_run_s_tenant_names_the_policy_and_the_thing_keeps_the_device_facts() -> None:
    activities = AwsIotActivities(
        UnusedAws(), policy_template="devprov-{tenant}-devices", thing_type="plug"
    )

    request = activities.request_for(registration(tenant="acme"))

    assert request.policy_name == "devprov-acme-devices"
    assert request.thing_type == "plug"
    assert request.attributes == {"vendor": "shelly", "model": "SNSW-001X16EU"}
    assert (request.device_id, request.site) == ("plug-hall", "lab")
    assert request.run_id == "0192f0c4-7d2a-7c1e-9a55-3f1c2b4d5e6f"


def test_a_registration_aws_cannot_take_is_refused_before_any_call() -> None:
    activities = AwsIotActivities(UnusedAws(), policy_template="devprov-{tenant}-devices")

    with pytest.raises(CloudInvalidRequest, match="invalid device_id") as caught:
        activities.request_for(registration(device_id="plug.hall"))

    assert not caught.value.retryable


def names(activities: list[object]) -> list[str]:
    return [getattr(a, "__temporal_activity_definition").name for a in activities]


def test_a_worker_without_the_aws_sdk_hosts_the_same_activities() -> None:
    real = AwsIotActivities(UnusedAws(), policy_template="p").all()
    missing = AwsSdkMissingActivities().all()

    assert names(missing) == names(real)


async def test_a_central_worker_without_aws_settings_starts_and_its_aws_steps_say_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))

    async with aws_iot_activities(Settings()) as activities:
        by_name = dict(zip(names(activities), activities, strict=True))
        register = cast(
            Callable[[AwsIotRunRegistration], Awaitable[object]],
            by_name[WifiAwsIotActivity.REGISTER_THING.name],
        )
        with pytest.raises(CloudInvalidRequest, match="no AWS region") as caught:
            await register(registration())

    assert not caught.value.retryable
