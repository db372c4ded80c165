"""The `wifi-aws-iot` family's rules: which devices it serves, which it refuses, and what
its central worker asks of AWS for a run (the tenant's policy, the thing's facts)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activities.aws_iot import AwsIotActivities
from activities.aws_sdk_missing import AwsSdkMissingActivities
from adapters.vendor_cloud.errors import CloudInvalidRequest
from domain.aws_iot import (
    AwsIotRunRegistration,
    AwsThingRegistration,
    AwsThingRegistrationRequest,
    AwsThingRemoval,
    ShadowNetworkReport,
)
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice
from strategies.catalog import build_registry
from strategies.wifi_aws_iot import WifiAwsIotStrategy

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


def test_a_worker_without_the_aws_sdk_hosts_the_same_activities() -> None:
    real = AwsIotActivities(UnusedAws(), policy_template="p").all()
    missing = AwsSdkMissingActivities().all()

    def names(activities: list[object]) -> list[str]:
        return [getattr(a, "__temporal_activity_definition").name for a in activities]

    assert names(missing) == names(real)
