"""A composite family with AWS IoT Core as its cloud: a Wi-Fi device set up over its local
HTTP API, then registered as an AWS IoT thing from a CSR the device makes (its key never
leaves it), and confirmed when the device reports its network in its thing shadow.

The `wifi-cloud` family does the same with devprov's own simulated vendor cloud; this one
talks to AWS through the official SDK (`adapters/aws_iot/`). See docs/vendor-cloud.md.
"""

from __future__ import annotations

import re

from domain.activity_io import ClientCertificateDelivery
from domain.aws_iot import (
    THING_NAME_PATTERN,
    AwsIotRunRegistration,
    AwsThingDeregistration,
    AwsThingRegistration,
    AwsThingRemoval,
    ShadowNetworkCheck,
    ShadowNetworkReport,
)
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice
from domain.policies import PolicySection
from domain.requests import ReprovisionPolicy, RequestExample
from domain.states import Step
from strategies.activity_contract import ActivityContract
from strategies.base import Placement, PreCheckVerdict, StrategySpec
from strategies.decommission import DecommissionPlan, DecommissionTarget, UndoStep
from strategies.family import DeviceFamily
from strategies.http_wifi import FACTORY_RESET, IN_SETUP_MODE, LAB_NETWORK, HttpWifiStrategy

WIFI_AWS_IOT_SPEC = StrategySpec(
    name="wifi-aws-iot",
    workflow="WifiAwsIotProvisioning",
    description=(
        "HTTP Wi-Fi set-up, then AWS IoT Core registration from the device's own CSR "
        "(thing, certificate, the tenant's policy, site group), confirmed by the network "
        "the device reports in its thing shadow."
    ),
    required_capabilities=frozenset({"wifi", "http-rpc", "aws-iot"}),
    requires_network=True,
    placement=Placement.EDGE,
    reprovision=frozenset({ReprovisionPolicy.NEVER, ReprovisionPolicy.RESET}),
    reprovision_notes=(
        (
            ReprovisionPolicy.RESET,
            (
                "AWS IoT certificate revoked and thing deleted, factory reset, then provisioned as "
                "a new thing"
            ),
        ),
        (
            ReprovisionPolicy.MIGRATE,
            "not supported: the AWS IoT thing is not moved without a re-registration; use `reset`",
        ),
    ),
)

_THING_NAME = re.compile(THING_NAME_PATTERN)


class WifiAwsIotStrategy(HttpWifiStrategy):
    """The HTTP Wi-Fi device rules, and a device id that can be an AWS IoT thing name."""

    spec = WIFI_AWS_IOT_SPEC

    def pre_check(self, device: DeviceDescriptor, found: DetectedDevice) -> PreCheckVerdict:
        verdict = super().pre_check(device, found)
        if _THING_NAME.match(device.device_id):
            return verdict
        return PreCheckVerdict(
            [
                *verdict.reasons,
                f"device id '{device.device_id}' cannot be an AWS IoT thing name "
                "(letters, digits, ':', '_' and '-' only)",
            ]
        )


class WifiAwsIotActivity:
    """Activities of the AWS IoT steps: the device's side on the site's edge, AWS's on the
    central workers."""

    DEVICE_CSR = ActivityContract("aws_iot.device_csr", DeviceDescriptor, str)
    """Edge: the device makes (or keeps) its key pair and answers a CSR for it."""
    DELIVER_CERTIFICATE = ActivityContract(
        "aws_iot.deliver_certificate", ClientCertificateDelivery, type(None)
    )
    """Edge: the device stores the certificate AWS signed."""
    REGISTER_THING = ActivityContract(
        "aws_iot.register_thing", AwsIotRunRegistration, AwsThingRegistration
    )
    CONFIRM_SHADOW = ActivityContract(
        "aws_iot.confirm_shadow", ShadowNetworkCheck, ShadowNetworkReport
    )
    REMOVE_THING = ActivityContract("aws_iot.remove_thing", AwsIotRunRegistration, AwsThingRemoval)
    DEREGISTER_THING = ActivityContract(
        "aws_iot.deregister_thing", AwsThingDeregistration, AwsThingRemoval
    )
    """Decommission: the thing and certificates of a device in service, by its record."""


def _thing_of(target: DecommissionTarget) -> AwsThingDeregistration:
    record = target.record
    return AwsThingDeregistration(
        device_id=record.device_id,
        thing_name=record.cloud_thing or record.device_id,
        certificate_id=record.cloud_certificate_id,
    )


WIFI_AWS_IOT_DECOMMISSION = DecommissionPlan(
    workflow="WifiAwsIotDecommission",
    workflow_class="workflows.wifi_aws_iot:WifiAwsIotDecommissionWorkflow",
    steps=(
        # AWS first: a revoked certificate no longer connects, whatever the reset does.
        UndoStep(
            "AWS IoT certificate revocation and thing deletion",
            WifiAwsIotActivity.DEREGISTER_THING,
            _thing_of,
            central=True,
        ),
        FACTORY_RESET,
    ),
    check=IN_SETUP_MODE,
    confirms_identity=True,
)


WIFI_AWS_IOT_POLICY = PolicySection(
    steps={
        # The AWS calls of this step may be throttled (CLOUD_RATE_LIMITED, retried after
        # the wait AWS asks for): keep retrying for up to ten minutes. Errors that no
        # retry can fix (a thing of another run, a missing policy) are not retried.
        Step.PROVISION: {
            "start_to_close": "30s",
            "schedule_to_close": "10m",
            "retry": {"maximum_attempts": 0, "initial_interval": "1s", "maximum_interval": "10s"},
        },
        # Waits for the Wi-Fi join, then for the device's report in its thing shadow.
        Step.CONFIRM: {
            "start_to_close": "60s",
            "heartbeat": "5s",
            "retry": {"maximum_attempts": 3, "initial_interval": "2s"},
        },
        Step.ROLLBACK: {
            "start_to_close": "30s",
            "schedule_to_close": "30m",
            "retry": {"maximum_attempts": 0, "initial_interval": "1s", "maximum_interval": "30s"},
        },
    }
)

WIFI_AWS_IOT_FAMILY = DeviceFamily(
    name="wifi-aws-iot",
    strategy=WifiAwsIotStrategy,
    workflow="workflows.wifi_aws_iot:WifiAwsIotProvisioningWorkflow",
    wiring="worker.families.wifi_aws_iot:WIRING",
    examples=(
        RequestExample(
            title="Wi-Fi relay registered with AWS IoT Core",
            body={
                "device": {
                    "device_id": "shelly-plus1-aws-hall",
                    "type": "wifi-relay",
                    "vendor": "shelly",
                    "model": "SNSW-001X16EU",
                    "capabilities": ["wifi", "http-rpc", "aws-iot"],
                    "site": "local",
                },
                "network": LAB_NETWORK,
            },
        ),
    ),
    policy=WIFI_AWS_IOT_POLICY,
    decommission=WIFI_AWS_IOT_DECOMMISSION,
    # Before http-wifi, whose capabilities it extends.
    selection_order=50,
    # It reports the vendor-cloud codes (CLOUD_*), which the catalogue lists under
    # wifi-cloud, the family that introduced them: a code has one owner there.
)
"""The `wifi-aws-iot` family's descriptor (entry point `devprov.families:wifi-aws-iot`)."""
