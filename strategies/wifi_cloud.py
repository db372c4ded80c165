"""A composite family: a Wi-Fi device set up over its local HTTP API, then registered
with its vendor cloud (credential from a claim, device record, policy) and confirmed
when it checks in with that cloud."""

from __future__ import annotations

from domain.activity_io import CloudDevice, CloudIssue, CloudPolicy, CloudRegistration
from domain.cloud import (
    CloudDeviceStatus,
    DeviceKeyPair,
    IssuedCredential,
    PolicyAttachment,
    RegisteredDevice,
)
from domain.policies import PolicySection
from domain.requests import ReprovisionPolicy, RequestExample
from domain.states import Step
from strategies.activity_contract import ActivityContract
from strategies.base import Placement, StrategySpec
from strategies.decommission import DecommissionPlan, DecommissionTarget, UndoStep
from strategies.family import DeviceFamily
from strategies.http_wifi import FACTORY_RESET, IN_SETUP_MODE, LAB_NETWORK, HttpWifiStrategy

WIFI_CLOUD_SPEC = StrategySpec(
    name="wifi-cloud",
    workflow="WifiCloudProvisioning",
    description=(
        "HTTP Wi-Fi set-up, then vendor-cloud registration by claim (per-device "
        "certificate, device record, policy), confirmed by the device's first check-in."
    ),
    required_capabilities=frozenset({"wifi", "http-rpc", "vendor-cloud"}),
    requires_network=True,
    placement=Placement.EDGE,
    reprovision=frozenset({ReprovisionPolicy.NEVER, ReprovisionPolicy.RESET}),
    reprovision_notes=(
        (
            ReprovisionPolicy.RESET,
            (
                "cloud deregistration and credential revocation, factory reset, then provisioned "
                "and registered anew"
            ),
        ),
        (
            ReprovisionPolicy.MIGRATE,
            (
                "not supported: the cloud registration is not moved without a re-registration; use "
                "`reset`"
            ),
        ),
    ),
)

DEVICE_POLICY = "devprov-device"
"""Policy attached to every registered device."""


class WifiCloudStrategy(HttpWifiStrategy):
    """Same device rules as HTTP Wi-Fi; the cloud steps need no extra pre-check."""

    spec = WIFI_CLOUD_SPEC

    def settings(self) -> dict[str, object]:
        return {**super().settings(), "cloud_policy": DEVICE_POLICY}


class WifiCloudActivity:
    """Activities of the vendor-cloud steps, hosted by the central workers."""

    MAKE_DEVICE_KEYS = ActivityContract("cloud.make_device_keys", CloudDevice, DeviceKeyPair)
    ISSUE_CREDENTIAL = ActivityContract("cloud.issue_credential", CloudIssue, IssuedCredential)
    REGISTER_DEVICE = ActivityContract("cloud.register_device", CloudRegistration, RegisteredDevice)
    ATTACH_POLICY = ActivityContract("cloud.attach_policy", CloudPolicy, PolicyAttachment)
    AWAIT_CHECKIN = ActivityContract("cloud.await_checkin", CloudDevice, CloudDeviceStatus)
    REMOVE_DEVICE = ActivityContract("cloud.remove_device", CloudDevice, type(None))


def _cloud_device(target: DecommissionTarget) -> CloudDevice:
    return CloudDevice(
        device_id=target.device.device_id,
        idempotency_key=target.idempotency_key("decommission-cloud"),
    )


WIFI_CLOUD_DECOMMISSION = DecommissionPlan(
    workflow="WifiCloudDecommission",
    workflow_class="workflows.wifi_cloud:WifiCloudDecommissionWorkflow",
    steps=(
        # The cloud first: once its credentials are revoked the device can no longer
        # act in the cloud, whatever happens to the reset.
        UndoStep(
            "cloud deregistration and credential revocation",
            WifiCloudActivity.REMOVE_DEVICE,
            _cloud_device,
            central=True,
        ),
        FACTORY_RESET,
    ),
    check=IN_SETUP_MODE,
    confirms_identity=True,
)

WIFI_CLOUD_POLICY = PolicySection(
    steps={
        # The cloud calls of this step are rate-limited by the cloud (429 +
        # Retry-After): keep retrying, each time after the cloud's retry-after, for up
        # to ten minutes.
        Step.PROVISION: {
            "start_to_close": "15s",
            "schedule_to_close": "10m",
            "retry": {"maximum_attempts": 0, "initial_interval": "1s", "maximum_interval": "10s"},
        },
        # Waits for the Wi-Fi join, then for the first check-in with the cloud.
        Step.CONFIRM: {
            "start_to_close": "60s",
            "heartbeat": "5s",
            "retry": {"maximum_attempts": 3, "initial_interval": "2s"},
        },
        Step.ROLLBACK: {
            "start_to_close": "15s",
            "schedule_to_close": "30m",
            "retry": {"maximum_attempts": 0, "initial_interval": "1s", "maximum_interval": "30s"},
        },
    }
)

WIFI_CLOUD_FAMILY = DeviceFamily(
    name="wifi-cloud",
    strategy=WifiCloudStrategy,
    workflow="workflows.wifi_cloud:WifiCloudProvisioningWorkflow",
    wiring="worker.families.wifi_cloud:WIRING",
    examples=(
        RequestExample(
            title="Hub registered with its vendor cloud",
            body={
                "device": {
                    "device_id": "acme-hub-lobby",
                    "type": "wifi-hub",
                    "vendor": "acme",
                    "model": "ACME-HUB-2",
                    "capabilities": ["wifi", "http-rpc", "vendor-cloud"],
                    "site": "local",
                },
                "network": LAB_NETWORK,
            },
        ),
    ),
    policy=WIFI_CLOUD_POLICY,
    decommission=WIFI_CLOUD_DECOMMISSION,
    # Before http-wifi, whose capabilities it extends.
    selection_order=50,
    error_codes=frozenset(
        {
            "CLOUD_RATE_LIMITED",
            "CLOUD_UNAVAILABLE",
            "CLOUD_TIMEOUT",
            "CLOUD_UNAUTHORIZED",
            "CLOUD_CLAIM_REJECTED",
            "CLOUD_FORBIDDEN",
            "CLOUD_NOT_FOUND",
            "CLOUD_CONFLICT",
            "CLOUD_INVALID_REQUEST",
            "CLOUD_IDEMPOTENCY_MISMATCH",
            "CLOUD_PROTOCOL_ERROR",
            "CLOUD_CHECKIN_TIMEOUT",
        }
    ),
)
"""The `wifi-cloud` family's descriptor (entry point `devprov.families:wifi-cloud`)."""
