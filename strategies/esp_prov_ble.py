"""ESP32 Wi-Fi devices onboarded over Bluetooth LE with ESP-IDF's unified provisioning.

Pure (the workflow sandbox and the API import it): the strategy's spec, how a request
names the device's security secret, the activities' names and models, the pre-check
rules, and the family's descriptor (entry point `devprov.families:esp-prov-ble`).

The steps, as the workflow runs them on the edge worker whose radio hears the device:

1. detect: scan for the provisioning service; the gateway that hears it pins the run.
2. pre-check: open the secure session (a wrong secret ends FAILED_VALIDATION with
   SESSION_AUTH_FAILED before anything changes) and read `proto-ver`, the endpoints
   and the station's status.
3. provision: send the Wi-Fi configuration and apply it (a station that took other
   credentials in an earlier round is reset first: ESP-IDF takes them once).
4. confirm: follow the station's status over a session until it joined: `AuthError`
   returns the run to PENDING_NETWORK (CREDENTIALS_REJECTED), `NetworkNotFound` ends
   it with NETWORK_NOT_FOUND (ESP-IDF keeps provisioning up for 30 s after the device
   joined, by default).
5. rollback: `prov-ctrl` reset where the device offers it (ESP-IDF 5.1 and later).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin
from domain.policies import PolicySection
from domain.requests import (
    NetworkCredentials,
    ProvisionRequest,
    ReprovisionPolicy,
    RequestExample,
)
from domain.secrets import WireSecret
from domain.states import Step
from strategies.activity_contract import ActivityContract
from strategies.base import Placement, PreCheckVerdict, Strategy, StrategySpec
from strategies.family import DeviceFamily
from strategies.http_wifi import LAB_NETWORK

SESSION_AUTH_FAILED = "SESSION_AUTH_FAILED"
"""The family's code for a secure session the device refused: the request's secret is
wrong (its validation code: the run ends FAILED_VALIDATION)."""
NETWORK_NOT_FOUND = "NETWORK_NOT_FOUND"
"""The family's code for an SSID the device did not find (the run is rolled back)."""
ESP_ERROR_CODES = frozenset({SESSION_AUTH_FAILED, NETWORK_NOT_FOUND})
"""The codes only this family reports: plain strings, not members of the shared
`ErrorCode` (the adapter raises them, `adapters.esp_prov.errors`; documented in
docs/errors.md)."""

ESP_PROV_BLE_SPEC = StrategySpec(
    name="esp-prov-ble",
    workflow="EspProvBleProvisioning",
    description=(
        "ESP32 Wi-Fi device onboarded over Bluetooth LE with ESP-IDF unified provisioning: "
        "a secure session (SRP6a password or proof of possession), Wi-Fi configuration "
        "over protocomm, the join confirmed by the device."
    ),
    required_capabilities=frozenset({"ble", "esp-prov"}),
    requires_network=True,
    placement=Placement.EDGE,
    reprovision=frozenset({ReprovisionPolicy.NEVER}),
    reprovision_notes=(
        (
            ReprovisionPolicy.RESET,
            (
                "not supported: once the device joined, ESP-IDF's provisioning manager stops "
                "its BLE service; put the device back in provisioning mode (its application's "
                "own reset, or an NVS erase), then provision it"
            ),
        ),
        (
            ReprovisionPolicy.MIGRATE,
            "not supported: a provisioned ESP-IDF device no longer offers provisioning over BLE",
        ),
    ),
    validation_codes=frozenset({SESSION_AUTH_FAILED}),
)

PASSWORD_SECRET = "esp_password"
"""`ProvisionRequest.secrets` key: the SRP6a password of a security 2 device."""
POP_SECRET = "esp_pop"
"""`ProvisionRequest.secrets` key: the proof of possession of a security 1 device."""
USERNAME_HINT = "esp_username"
"""`transport_hints` key: the SRP6a username (default `wifiprov`, ESP-IDF's examples')."""
DEFAULT_USERNAME = "wifiprov"

SECURITY_0, SECURITY_1, SECURITY_2 = 0, 1, 2


class EspSecurityInput(BaseModel):
    """Which security scheme and secret open the device's session (a secret: masked in
    reprs, carried in payloads the codec protects)."""

    model_config = ConfigDict(frozen=True)

    scheme: int = Field(ge=SECURITY_0, le=SECURITY_2)
    username: str = DEFAULT_USERNAME
    secret: WireSecret | None = None


def security_for(request: ProvisionRequest) -> EspSecurityInput:
    """The session security a request asks for: security 2 with `secrets.esp_password`,
    else security 1 with `secrets.esp_pop` (an empty one: a `no_pop` device), else 0."""
    username = request.device.transport_hints.get(USERNAME_HINT) or DEFAULT_USERNAME
    if PASSWORD_SECRET in request.secrets:
        return EspSecurityInput(
            scheme=SECURITY_2, username=username, secret=request.secrets[PASSWORD_SECRET]
        )
    if POP_SECRET in request.secrets:
        return EspSecurityInput(scheme=SECURITY_1, secret=request.secrets[POP_SECRET])
    return EspSecurityInput(scheme=SECURITY_0)


class EspTarget(BaseModel):
    """A device and the security of its session: the input of most activities."""

    model_config = ConfigDict(frozen=True)

    device: DeviceDescriptor
    security: EspSecurityInput


class EspNetworkAssignment(BaseModel):
    """Give the device at `target` the credentials of `network`."""

    model_config = ConfigDict(frozen=True)

    target: EspTarget
    network: NetworkCredentials


class EspSessionCheck(BaseModel):
    """What the pre-check learnt over a secure session."""

    model_config = ConfigDict(frozen=True)

    version: str
    security: int | None
    capabilities: list[str] = Field(default_factory=list)
    endpoints: list[str] = Field(default_factory=list)
    station_state: str
    """`connected`, `connecting`, `disconnected` or `connection_failed`."""
    ssid: str | None = None
    ip_address: str | None = None


class EspProvBleActivity:
    """Activities of the ESP-IDF provisioning strategy (hosted by edge workers)."""

    DETECT = ActivityContract("esp_prov_ble.detect", DeviceDescriptor, DetectedDevice)
    CHECK_SESSION = ActivityContract("esp_prov_ble.check_session", EspTarget, EspSessionCheck)
    SEND_WIFI_CONFIG = ActivityContract(
        "esp_prov_ble.send_wifi_config", EspNetworkAssignment, type(None)
    )
    CONFIRM_JOINED = ActivityContract(
        "esp_prov_ble.confirm_joined", EspNetworkAssignment, NetworkJoin
    )
    RESET_WIFI = ActivityContract("esp_prov_ble.reset_wifi", EspTarget, type(None))


class EspProvBleStrategy(Strategy):
    """Rules for ESP-IDF provisioning devices."""

    spec = ESP_PROV_BLE_SPEC

    def pre_check(self, device: DeviceDescriptor, check: EspSessionCheck) -> PreCheckVerdict:
        """Judge what the device said over its secure session."""
        reasons: list[str] = []
        if check.station_state == "connected":
            reasons.append(
                f"device is already connected to '{check.ssid or '?'}'"
                + (f" with address {check.ip_address}" if check.ip_address else "")
                + "; reset it to provision it again"
            )
        elif check.station_state == "connecting":
            reasons.append(
                "device is joining a network with credentials it was given earlier; "
                "wait for it to finish, or reset it"
            )
        if "prov-config" not in check.endpoints:
            reasons.append("device does not offer the prov-config endpoint")
        return PreCheckVerdict(reasons)

    @staticmethod
    def can_reset(check: EspSessionCheck) -> bool:
        """Whether rollback can make the device forget credentials over BLE."""
        return "prov-ctrl" in check.endpoints


ESP_PROV_BLE_POLICY = PolicySection(
    steps={
        # A BLE scan of DEVPROV_BLE_SCAN_TIMEOUT (5 s) plus a margin.
        Step.DETECT: {"start_to_close": "15s"},
        # Scan, connect, and the security 2 handshake (SRP6a on both sides).
        Step.PRE_CHECK: {"start_to_close": "30s"},
        Step.PROVISION: {"start_to_close": "30s"},
        # Follows the station until it joined: the activity's budget is its timeout;
        # heartbeats carry a cancel to it.
        Step.CONFIRM: {"start_to_close": "60s", "heartbeat": "5s"},
        Step.ROLLBACK: {"start_to_close": "30s"},
    }
)


def _example(
    device_id: str, device_type: str, title: str, secrets: dict[str, str]
) -> RequestExample:
    return RequestExample(
        title=title,
        body={
            "device": {
                "device_id": device_id,
                "type": device_type,
                "vendor": "espressif",
                "capabilities": ["ble", "esp-prov", "wifi"],
                "site": "local",
            },
            "network": LAB_NETWORK,
            "secrets": secrets,
        },
    )


ESP_PROV_BLE_FAMILY = DeviceFamily(
    name="esp-prov-ble",
    strategy=EspProvBleStrategy,
    workflow="workflows.esp_prov_ble:EspProvBleProvisioningWorkflow",
    wiring="worker.families.esp_prov_ble:WIRING",
    examples=(
        # ESP-IDF's examples' own secrets (wifi_prov_mgr): public, never a real device's.
        _example(
            "esp32-plug-study",
            "wifi-plug",
            "ESP32 plug, ESP-IDF provisioning security 2 (SRP6a password)",
            {PASSWORD_SECRET: "abcd1234"},
        ),
        _example(
            "esp32-lamp-attic",
            "wifi-light",
            "ESP32 lamp, ESP-IDF provisioning security 1 (proof of possession)",
            {POP_SECRET: "abcd1234"},
        ),
    ),
    policy=ESP_PROV_BLE_POLICY,
    error_codes=ESP_ERROR_CODES,
)
"""The `esp-prov-ble` family's descriptor (entry point `devprov.families:esp-prov-ble`);
it takes no device out of service (decommission: DECOMMISSION_UNSUPPORTED), see
ESP_PROV_BLE_SPEC's re-provisioning notes for why."""
