"""Wi-Fi devices set up over a local HTTP RPC API (modelled on Shelly Gen2)."""

from __future__ import annotations

import re

from domain.activity_io import JoinCheck, NetworkAssignment, NetworkMove
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin
from domain.policies import PolicySection
from domain.requests import ReprovisionPolicy, RequestExample
from domain.states import Step
from strategies.activity_contract import ActivityContract
from strategies.base import Placement, PreCheckVerdict, Strategy, StrategySpec
from strategies.decommission import DecommissionPlan, DecommissionTarget, ServiceCheck, UndoStep
from strategies.family import DeviceFamily

HTTP_WIFI_SPEC = StrategySpec(
    name="http-wifi",
    workflow="HttpWifiProvisioning",
    description=(
        "Wi-Fi device in set-up mode configured through its local HTTP RPC API "
        "(Shelly Gen2 style: Shelly.GetDeviceInfo, WiFi.SetConfig, WiFi.GetStatus)."
    ),
    required_capabilities=frozenset({"wifi", "http-rpc"}),
    requires_network=True,
    placement=Placement.EDGE,
    reprovision=frozenset(
        {ReprovisionPolicy.NEVER, ReprovisionPolicy.RESET, ReprovisionPolicy.MIGRATE}
    ),
    reprovision_notes=(
        (
            ReprovisionPolicy.RESET,
            "factory reset over the local HTTP API (the decommission plan), then provisioned anew",
        ),
        (
            ReprovisionPolicy.MIGRATE,
            (
                "WiFi.SetConfig writes the new network as `sta` and keeps the current one as the "
                "fallback `sta1`; a device that does not join the new network falls back to it, "
                "and the run settles it there (ROLLED_BACK, MIGRATION_JOIN_FAILED)"
            ),
        ),
    ),
)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


class HttpWifiStrategy(Strategy):
    """Rules for HTTP-configured Wi-Fi devices.

    Args:
        minimum_firmware: Oldest firmware whose Wi-Fi RPC behaves as expected.
    """

    spec = HTTP_WIFI_SPEC

    def __init__(self, minimum_firmware: str = "1.0.0") -> None:
        self.minimum_firmware = minimum_firmware

    def pre_check(self, device: DeviceDescriptor, found: DetectedDevice) -> PreCheckVerdict:
        """Judge whether `found` may be provisioned as `device`."""
        reasons: list[str] = []
        if found.device_id != device.device_id:
            reasons.append(f"the device answering is '{found.device_id}', not '{device.device_id}'")
        if device.model and found.model and found.model != device.model:
            reasons.append(f"model is '{found.model}', the request says '{device.model}'")
        if found.firmware and _version_tuple(found.firmware) < _version_tuple(
            self.minimum_firmware
        ):
            reasons.append(
                f"firmware {found.firmware} is older than the minimum {self.minimum_firmware}"
            )
        if found.provisioned:
            reasons.append(
                f"device is already provisioned for network '{found.network_ssid}'; "
                "factory-reset it to provision it again"
            )
        if found.attributes.get("auth_enabled") == "true":
            reasons.append("device has authentication enabled: it is not in set-up mode")
        return PreCheckVerdict(reasons)

    def settings(self) -> dict[str, object]:
        return {"minimum_firmware": self.minimum_firmware}


class HttpWifiActivity:
    """Activities of the HTTP Wi-Fi strategy: the contract between its workflow and the
    activities an edge worker hosts."""

    DETECT = ActivityContract("http_wifi.detect", DeviceDescriptor, DetectedDevice)
    READ_STATE = ActivityContract("http_wifi.read_state", DeviceDescriptor, DetectedDevice)
    APPLY_NETWORK = ActivityContract("http_wifi.apply_network", NetworkAssignment, type(None))
    CONFIRM_JOINED = ActivityContract("http_wifi.confirm_joined", JoinCheck, NetworkJoin)
    RESET = ActivityContract("http_wifi.reset", DeviceDescriptor, type(None))
    MOVE_NETWORK = ActivityContract("http_wifi.move_network", NetworkAssignment, type(None))
    CONFIRM_MOVED = ActivityContract("http_wifi.confirm_moved", NetworkMove, NetworkJoin)
    RETURN_TO_NETWORK = ActivityContract("http_wifi.return_to_network", NetworkMove, type(None))


def _the_device(target: DecommissionTarget) -> DeviceDescriptor:
    return target.device


def _still_configured(state: DetectedDevice) -> list[str]:
    if state.provisioned:
        return [f"the device still holds network '{state.network_ssid}'"]
    if state.attributes.get("auth_enabled") == "true":
        return ["the device still has authentication enabled (not in set-up mode)"]
    return []


FACTORY_RESET = UndoStep(
    "factory reset over the local HTTP API", HttpWifiActivity.RESET, _the_device
)
"""The device side of every HTTP Wi-Fi family's decommission: back to set-up mode."""

IN_SETUP_MODE = ServiceCheck(
    "the device is back in set-up mode", HttpWifiActivity.READ_STATE, _the_device, _still_configured
)

HTTP_WIFI_DECOMMISSION = DecommissionPlan(
    workflow="HttpWifiDecommission",
    workflow_class="workflows.http_wifi:HttpWifiDecommissionWorkflow",
    steps=(FACTORY_RESET,),
    check=IN_SETUP_MODE,
    confirms_identity=True,
)


LAB_NETWORK = {"ssid": "devprov-lab", "passphrase": "correct-horse-battery"}
"""The Wi-Fi network of the simulated devices of `make run` (a public example)."""

HTTP_WIFI_POLICY = PolicySection(
    steps={Step.CONFIRM: {"start_to_close": "45s", "heartbeat": "5s"}},
)
"""Confirm polls the device until it has joined its network."""

HTTP_WIFI_FAMILY = DeviceFamily(
    name="http-wifi",
    strategy=HttpWifiStrategy,
    workflow="workflows.http_wifi:HttpWifiProvisioningWorkflow",
    wiring="worker.families.http_wifi:WIRING",
    examples=(
        RequestExample(
            title="Wi-Fi relay (Shelly, HTTP RPC)",
            body={
                "device": {
                    "device_id": "shelly-plus1-kitchen",
                    "type": "wifi-relay",
                    "vendor": "shelly",
                    "model": "SNSW-001X16EU",
                    "capabilities": ["wifi", "http-rpc"],
                    "site": "local",
                },
                "network": LAB_NETWORK,
            },
        ),
        RequestExample(
            title="Wi-Fi relay, credentials asked later",
            body={
                "device": {
                    "device_id": "shelly-pro4-lab",
                    "type": "wifi-relay",
                    "vendor": "shelly",
                    "model": "SPSW-004PE16EU",
                    "capabilities": ["wifi", "http-rpc"],
                    "site": "local",
                }
            },
        ),
    ),
    policy=HTTP_WIFI_POLICY,
    decommission=HTTP_WIFI_DECOMMISSION,
)
"""The `http-wifi` family's descriptor (entry point `devprov.families:http-wifi`)."""
