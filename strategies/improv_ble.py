"""Wi-Fi devices onboarded over Bluetooth LE with Improv Wi-Fi (ESPHome, WLED, ...).

The steps, as the workflow runs them on the edge worker whose radio hears the device:

1. detect: scan for the device's Improv advertisement; the gateway that hears it pins
   the run to itself.
2. pre-check: connect, read state, capabilities and device info. A device already
   provisioned (or still joining) is reported, never provisioned again by accident.
3. provision: if the device requires authorization, the run shows WAITING_FOR_DEVICE
   ("press the button") while an activity makes it identify itself and waits for the
   press; then the credentials go over GATT. A rejected passphrase
   (UNABLE_TO_CONNECT) returns the run to PENDING_NETWORK.
4. confirm: the device answers at its redirect URL over the LAN (the second channel),
   not only in its BLE state.
5. rollback: drop the BLE connections and reset the device through its web page where
   it offers one. Improv itself has no command to forget credentials.

With `transport: client-ble` the installer's browser does steps 1 to 3 over Web Bluetooth
(the web console: find the device by the Improv service, identify it, wait for its
button, send the credentials typed into the page) while the run waits in
WAITING_FOR_DEVICE; it reports the outcome (`ClientBleReport`), judged by
`ImprovBleStrategy.judge_browser_report`; steps 4 and 5 are the same, from a gateway of
the site. The passphrase never reaches devprov.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from domain.activity_io import NetworkAssignment
from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from domain.facts import DetectedDevice, NetworkJoin
from domain.policies import PolicySection
from domain.requests import (
    ClientBleOutcome,
    ClientBleReport,
    ImprovErrorName,
    ReprovisionPolicy,
    RequestExample,
    Transport,
)
from domain.states import Step
from strategies.activity_contract import ActivityContract
from strategies.base import Placement, PreCheckVerdict, Strategy, StrategySpec
from strategies.decommission import DecommissionPlan, DecommissionTarget, ServiceCheck, UndoStep
from strategies.family import DeviceFamily
from strategies.http_wifi import LAB_NETWORK

IMPROV_BLE_SPEC = StrategySpec(
    name="improv-ble",
    workflow="ImprovBleProvisioning",
    description=(
        "Wi-Fi device onboarded over Bluetooth LE with Improv Wi-Fi: authorized by its "
        "button, credentials over GATT, confirmed at its redirect URL on the LAN."
    ),
    required_capabilities=frozenset({"ble", "improv"}),
    requires_network=True,
    placement=Placement.EDGE,
    reprovision=frozenset({ReprovisionPolicy.NEVER}),
    transports=frozenset({Transport.GATEWAY, Transport.CLIENT_BLE}),
    reprovision_notes=(
        (
            ReprovisionPolicy.RESET,
            (
                "not supported: once on Wi-Fi the device no longer offers Improv over BLE, and "
                "Improv has no command to make it forget its network; factory-reset it by hand, "
                "then provision it"
            ),
        ),
        (
            ReprovisionPolicy.MIGRATE,
            "not supported: Improv can only give Wi-Fi credentials to a device in set-up mode",
        ),
    ),
)

AUTHORIZATION_REQUIRED = "authorization_required"
PROVISIONING = "provisioning"
PROVISIONED = "provisioned"


class ImprovCredentialsResult(BaseModel):
    """What `SEND_CREDENTIALS` returns."""

    model_config = ConfigDict(frozen=True)

    redirect_url: str | None = None
    """Where the device says it answers now (its web page), if it says."""
    credentials_sent: bool = True
    """False when it was already provisioned or still joining from an earlier attempt."""


class ImprovOnlineCheck(BaseModel):
    """Input of `CONFIRM_ONLINE`: is `device` on `ssid`, answering at `redirect_url`?"""

    model_config = ConfigDict(frozen=True)

    device: DeviceDescriptor
    ssid: str
    redirect_url: str | None = None


class ImprovRelease(BaseModel):
    """Input of `RELEASE`, the compensation of provisioning."""

    model_config = ConfigDict(frozen=True)

    device: DeviceDescriptor
    redirect_url: str | None = None
    credentials_may_have_arrived: bool = True
    """False when the run never sent credentials in this attempt: nothing to ask."""


class ImprovBleActivity:
    """Activities of the Improv BLE strategy: the contract between its workflow and the
    activities an edge worker hosts."""

    DETECT = ActivityContract("improv_ble.detect", DeviceDescriptor, DetectedDevice)
    READ_STATE = ActivityContract("improv_ble.read_state", DeviceDescriptor, DetectedDevice)
    AWAIT_AUTHORIZATION = ActivityContract(
        "improv_ble.await_authorization", DeviceDescriptor, type(None)
    )
    SEND_CREDENTIALS = ActivityContract(
        "improv_ble.send_credentials", NetworkAssignment, ImprovCredentialsResult
    )
    CONFIRM_ONLINE = ActivityContract("improv_ble.confirm_online", ImprovOnlineCheck, NetworkJoin)
    RELEASE = ActivityContract("improv_ble.release", ImprovRelease, type(None))


@dataclass(frozen=True)
class BrowserVerdict:
    """What a `client-ble` run does with its browser's report.

    `error_code` None: the device joined; confirm it. Otherwise `try_again` says whether
    the run waits for the browser again (showing `message`) or fails with the code.
    """

    error_code: ErrorCode | None = None
    message: str = ""
    try_again: bool = False
    reasons: tuple[str, ...] = ()


_DEVICE_ERRORS = {
    ImprovErrorName.INVALID_RPC_PACKET: ErrorCode.IMPROV_INVALID_RPC,
    ImprovErrorName.UNKNOWN_RPC_COMMAND: ErrorCode.IMPROV_UNKNOWN_COMMAND,
    ImprovErrorName.BAD_HOSTNAME: ErrorCode.IMPROV_DEVICE_ERROR,
    ImprovErrorName.UNKNOWN_ERROR: ErrorCode.IMPROV_DEVICE_ERROR,
}


def browser_prompt(device: DeviceDescriptor) -> str:
    """What a `client-ble` run asks of the installer while it waits for the browser."""
    return (
        f"connect from your phone: open this run in the devprov console (Chrome, over "
        f"HTTPS or on localhost) near device {device.device_id}, choose "
        f"'{browser_device_name(device)}' in the Bluetooth chooser, press its button when "
        "asked and type the Wi-Fi credentials there (they go to the device over Bluetooth, "
        "not to devprov)"
    )


def browser_device_name(device: DeviceDescriptor) -> str:
    """The BLE name the browser looks for: the `ble_name` hint, else the device id (as a
    gateway's scan matches it)."""
    return device.transport_hints.get("ble_name") or device.device_id


class ImprovBleStrategy(Strategy):
    """Rules for Improv Wi-Fi devices onboarded over BLE."""

    spec = IMPROV_BLE_SPEC

    def pre_check(self, device: DeviceDescriptor, state: DetectedDevice) -> PreCheckVerdict:
        """Judge the state the device reported over BLE."""
        reasons: list[str] = []
        improv_state = state.attributes.get("improv_state", "")
        if improv_state == PROVISIONED:
            where = state.attributes.get("redirect_url")
            reasons.append(
                "device is already provisioned (Improv state 'provisioned'"
                + (f", answering at {where}" if where else "")
                + "); reset it to provision it again"
            )
        elif improv_state == PROVISIONING:
            reasons.append(
                "device is joining a network with credentials it was given earlier; "
                "wait for it to finish, or reset it"
            )
        return PreCheckVerdict(reasons)

    def judge_browser_report(
        self, device: DeviceDescriptor, report: ClientBleReport
    ) -> BrowserVerdict:
        """The run's answer to what the installer's browser says the device did.

        A passphrase the network refused (UNABLE_TO_CONNECT), or a send the device did
        not authorize, lets the installer try again from the page: the run keeps
        waiting, as rejected credentials return a gateway run to PENDING_NETWORK. A
        device provisioned before is the pre-check's failure; other Improv errors fail
        the run with their code.
        """
        if report.outcome is ClientBleOutcome.PROVISIONED:
            return BrowserVerdict()
        if report.outcome is ClientBleOutcome.ALREADY_PROVISIONED:
            verdict = self.pre_check(
                device,
                DetectedDevice(
                    device_id=device.device_id, attributes={"improv_state": PROVISIONED}
                ),
            )
            return BrowserVerdict(
                ErrorCode.PRE_CHECK_FAILED,
                "pre-check rejected the device: " + "; ".join(verdict.reasons),
                reasons=tuple(verdict.reasons),
            )
        error = report.error or ImprovErrorName.UNKNOWN_ERROR
        network = f"'{report.ssid}'" if report.ssid else "the network"
        if error is ImprovErrorName.UNABLE_TO_CONNECT:
            return BrowserVerdict(
                ErrorCode.CREDENTIALS_REJECTED,
                f"device {device.device_id} could not join {network} with the credentials "
                "typed on the phone (Improv: unable to connect); check the network name and "
                "passphrase and send them again from the page",
                try_again=True,
            )
        if error is ImprovErrorName.NOT_AUTHORIZED:
            return BrowserVerdict(
                ErrorCode.IMPROV_NOT_AUTHORIZED,
                f"device {device.device_id} refused the credentials: it was not authorized "
                "(its button was not pressed, or the authorization expired); press it and "
                "send them again from the page",
                try_again=True,
            )
        return BrowserVerdict(
            _DEVICE_ERRORS[error],
            f"device {device.device_id} reported the Improv error '{error.value}' to the "
            "installer's browser",
        )

    @staticmethod
    def needs_authorization(state: DetectedDevice) -> bool:
        """Whether the device waits for its button to be pressed."""
        return state.attributes.get("improv_state") == AUTHORIZATION_REQUIRED


def _release_in_service(target: DecommissionTarget) -> ImprovRelease:
    # No redirect URL is kept: the device gives it again over BLE, once provisioned.
    return ImprovRelease(device=target.device, credentials_may_have_arrived=True)


def _the_device(target: DecommissionTarget) -> DeviceDescriptor:
    return target.device


def _still_provisioned(state: DetectedDevice) -> list[str]:
    if state.attributes.get("improv_state") != PROVISIONED:
        return []
    where = state.attributes.get("redirect_url")
    return [
        "the device keeps its Wi-Fi network (Improv state 'provisioned'"
        + (f", answering at {where}" if where else "")
        + "): Improv cannot make it forget it and its web page did not reset it; "
        "factory-reset it by hand"
    ]


IMPROV_CANNOT_UNDO = (
    "Improv Wi-Fi has no command to make a device forget its network: the device is reset "
    "through the web page it answers at (its redirect URL), where it offers a reset; a "
    "device that offers none keeps its network, and the run says so"
)

IMPROV_BLE_DECOMMISSION = DecommissionPlan(
    workflow="ImprovBleDecommission",
    workflow_class="workflows.improv_ble:ImprovBleDecommissionWorkflow",
    steps=(
        UndoStep(
            "reset through the device's web page", ImprovBleActivity.RELEASE, _release_in_service
        ),
    ),
    check=ServiceCheck(
        "the device's Improv state over BLE",
        ImprovBleActivity.READ_STATE,
        _the_device,
        _still_provisioned,
    ),
    cannot_undo=(IMPROV_CANNOT_UNDO,),
)

IMPROV_BLE_POLICY = PolicySection(
    steps={
        # A BLE scan of DEVPROV_BLE_SCAN_TIMEOUT (5 s) plus a margin.
        Step.DETECT: {"start_to_close": "15s"},
        Step.PRE_CHECK: {"start_to_close": "20s"},
        # Includes waiting for a person to press the device's button
        # (WAITING_FOR_DEVICE): the wait lasts about this long. Heartbeats carry
        # cancellation and a retry request.
        Step.PROVISION: {"start_to_close": "2m", "heartbeat": "5s"},
        Step.CONFIRM: {"start_to_close": "30s", "heartbeat": "5s"},
        Step.ROLLBACK: {"start_to_close": "20s"},
    }
)

IMPROV_BLE_FAMILY = DeviceFamily(
    name="improv-ble",
    strategy=ImprovBleStrategy,
    workflow="workflows.improv_ble:ImprovBleProvisioningWorkflow",
    wiring="worker.families.improv_ble:WIRING",
    examples=(
        RequestExample(
            title="Improv bulb over BLE (press the button)",
            body={
                "device": {
                    "device_id": "improv-bulb-porch",
                    "type": "wifi-light",
                    "vendor": "esphome",
                    "capabilities": ["ble", "improv", "wifi"],
                    "site": "local",
                },
                "network": LAB_NETWORK,
            },
        ),
    ),
    policy=IMPROV_BLE_POLICY,
    decommission=IMPROV_BLE_DECOMMISSION,
    error_codes=frozenset(
        {
            "BLE_RADIO_UNAVAILABLE",
            "BLE_CONNECTION_LOST",
            "BLE_GATT_TIMEOUT",
            "BLE_CHARACTERISTIC_MISSING",
            "IMPROV_AUTHORIZATION_TIMEOUT",
            "IMPROV_NOT_AUTHORIZED",
            "IMPROV_INVALID_RPC",
            "IMPROV_UNKNOWN_COMMAND",
            "IMPROV_DEVICE_ERROR",
        }
    ),
)
"""The `improv-ble` family's descriptor (entry point `devprov.families:improv-ble`)."""
