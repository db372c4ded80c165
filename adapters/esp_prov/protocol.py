"""ESP-IDF unified provisioning over BLE: endpoints, version info and Wi-Fi messages (no I/O).

A provisioning device offers one GATT service; each protocomm endpoint is one of its
characteristics, named by its user description descriptor (0x2901). A request is a
write to the endpoint's characteristic, its response the characteristic's value read
right after. `proto-ver` answers in plain text (a JSON document); `prov-session` runs
the security handshake; every other endpoint's requests and responses are encrypted
with the session's cipher (`adapters.esp_prov.security`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TypeVar

from google.protobuf.message import Message

from adapters.esp_prov.proto import (
    constants_pb2,
    wifi_config_pb2,
    wifi_constants_pb2,
    wifi_ctrl_pb2,
    wifi_scan_pb2,
)

DEFAULT_SERVICE_UUID = "021a9004-0382-4aea-bff4-6b3f1c5adfb4"
"""The service UUID of ESP-IDF's provisioning examples (a product picks its own)."""

USER_DESCRIPTION_UUID = "00002901-0000-1000-8000-00805f9b34fb"
"""Characteristic User Description: ESP-IDF writes each endpoint's name there."""


class Endpoint(StrEnum):
    """The protocomm endpoints of wifi_provisioning, and their 16-bit UUIDs."""

    CTRL = "prov-ctrl"
    SCAN = "prov-scan"
    SESSION = "prov-session"
    CONFIG = "prov-config"
    VERSION = "proto-ver"

    @property
    def short_uuid(self) -> int:
        return _SHORT_UUIDS[self]


_SHORT_UUIDS = {
    Endpoint.CTRL: 0xFF4F,
    Endpoint.SCAN: 0xFF50,
    Endpoint.SESSION: 0xFF51,
    Endpoint.CONFIG: 0xFF52,
    Endpoint.VERSION: 0xFF53,
}

_M = TypeVar("_M", bound=Message)

REQUIRED_ENDPOINTS = frozenset({Endpoint.SESSION, Endpoint.CONFIG, Endpoint.VERSION})


def endpoint_uuid(service_uuid: str, short_uuid: int) -> str:
    """The characteristic UUID of an endpoint: the service UUID with its 16-bit UUID in
    bits 96-111, as ESP-IDF's BLE transport derives it (`1775244d-…` → `1775ff51-…`)."""
    value = uuid.UUID(service_uuid).int
    mask = 0xFFFF << 96
    return str(uuid.UUID(int=(value & ~mask) | (short_uuid << 96)))


class SecurityScheme(IntEnum):
    """protocomm's security schemes (session.proto, `SecSchemeVersion`)."""

    SEC0 = 0
    """No security: plain text."""
    SEC1 = 1
    """Curve25519 key exchange, proof of possession, AES-256-CTR."""
    SEC2 = 2
    """SRP6a with a username and password, AES-256-GCM."""


@dataclass(frozen=True)
class VersionInfo:
    """What `proto-ver` says: the provisioning version, security scheme and capabilities.

    Attributes:
        version: e.g. `v1.1`.
        security: The scheme the device requires.
        security_patch: 1 when its AES-GCM nonce counts up per message (security 2).
        capabilities: e.g. `wifi_scan`, `no_pop`, `no_sec`.
        applications: The application's own entries (label → its version and
            capabilities), as `wifi_prov_mgr_set_app_info` adds them.
    """

    version: str
    security: SecurityScheme | None
    security_patch: int = 0
    capabilities: tuple[str, ...] = ()
    applications: dict[str, dict[str, object]] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes) -> VersionInfo:
        """Parse the JSON document; ValueError when it is not one of its shape.

        Devices older than ESP-IDF 4.0 answer a bare version string (`V0.1`).
        """
        text = data.decode("utf-8", errors="replace").strip()
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            if text and len(text) <= 32 and text.isprintable():
                return cls(version=text, security=None)
            raise ValueError("proto-ver answered neither JSON nor a version string") from None
        if not isinstance(document, dict) or not isinstance(document.get("prov"), dict):
            raise ValueError("proto-ver answered JSON without a 'prov' object")
        prov = document["prov"]
        security: SecurityScheme | None = None
        if isinstance(prov.get("sec_ver"), int):
            try:
                security = SecurityScheme(prov["sec_ver"])
            except ValueError:
                raise ValueError(f"unknown security scheme {prov['sec_ver']}") from None
        capabilities = prov.get("cap", [])
        return cls(
            version=str(prov.get("ver", "")),
            security=security,
            security_patch=int(prov.get("sec_patch_ver", 0) or 0),
            capabilities=tuple(str(c) for c in capabilities if isinstance(c, str)),
            applications={
                label: entry
                for label, entry in document.items()
                if label != "prov" and isinstance(entry, dict)
            },
        )

    def to_json(self) -> bytes:
        """The document as a device serves it."""
        prov: dict[str, object] = {"ver": self.version, "cap": list(self.capabilities)}
        if self.security is not None:
            prov["sec_ver"] = int(self.security)
            prov["sec_patch_ver"] = self.security_patch
        return json.dumps({**self.applications, "prov": prov}).encode()


# ---------------------------------------------------------------------- Wi-Fi config


class StationState(StrEnum):
    """The device's Wi-Fi station state (`WifiStationState`), by our names."""

    CONNECTED = "connected"
    CONNECTING = "connecting"
    DISCONNECTED = "disconnected"
    CONNECTION_FAILED = "connection_failed"


class FailReason(StrEnum):
    """Why the station failed (`WifiConnectFailedReason`)."""

    AUTH_ERROR = "auth_error"
    NETWORK_NOT_FOUND = "network_not_found"


_STATES = {
    wifi_constants_pb2.Connected: StationState.CONNECTED,
    wifi_constants_pb2.Connecting: StationState.CONNECTING,
    wifi_constants_pb2.Disconnected: StationState.DISCONNECTED,
    wifi_constants_pb2.ConnectionFailed: StationState.CONNECTION_FAILED,
}
_REASONS = {
    wifi_constants_pb2.AuthError: FailReason.AUTH_ERROR,
    wifi_constants_pb2.NetworkNotFound: FailReason.NETWORK_NOT_FOUND,
}


@dataclass(frozen=True)
class WifiStatus:
    """The answer to `CmdGetStatus`.

    Attributes:
        state: The station's state.
        ip_address: Its IPv4 address once connected.
        ssid: The network it is connected to.
        fail_reason: Why it failed, in `CONNECTION_FAILED`.
        attempts_remaining: While connecting, retries left before it gives up (when the
            device reports them).
    """

    state: StationState
    ip_address: str | None = None
    ssid: str | None = None
    fail_reason: FailReason | None = None
    attempts_remaining: int | None = None


class StatusError(ValueError):
    """The device answered a request with a protocomm status other than Success."""

    def __init__(self, what: str, status: int) -> None:
        names = {int(value): name for name, value in constants_pb2.Status.items()}
        name = names.get(status, "")
        super().__init__(f"{what}: the device answered status {name or status}")
        self.status_name = name or str(status)


def _parse(message_type: type[_M], data: bytes, what: str) -> _M:
    message = message_type()
    try:
        message.ParseFromString(data)
    except Exception as exc:  # protobuf raises DecodeError, or others on bad UTF-8
        raise ValueError(f"{what}: not a valid {message_type.__name__}") from exc
    return message


def get_status_request() -> bytes:
    payload = wifi_config_pb2.WiFiConfigPayload(msg=wifi_config_pb2.TypeCmdGetStatus)
    payload.cmd_get_status.SetInParent()
    return payload.SerializeToString()


def parse_status_response(data: bytes) -> WifiStatus:
    """Raises ValueError (malformed) or StatusError (refused)."""
    payload = _parse(wifi_config_pb2.WiFiConfigPayload, data, "Wi-Fi status")
    if payload.WhichOneof("payload") != "resp_get_status":
        raise ValueError("Wi-Fi status: the answer is not a RespGetStatus")
    response = payload.resp_get_status
    if response.status != constants_pb2.Success:
        raise StatusError("Wi-Fi status", response.status)
    state = _STATES.get(response.sta_state)
    if state is None:
        raise ValueError(f"Wi-Fi status: unknown station state {response.sta_state}")
    match response.WhichOneof("state"):
        case "connected":
            connected = response.connected
            return WifiStatus(
                state,
                ip_address=connected.ip4_addr or None,
                ssid=connected.ssid.decode("utf-8", errors="replace") or None,
            )
        case "fail_reason":
            return WifiStatus(state, fail_reason=_REASONS.get(response.fail_reason))
        case "attempt_failed":
            return WifiStatus(state, attempts_remaining=response.attempt_failed.attempts_remaining)
    return WifiStatus(state)


def set_config_request(ssid: str, passphrase: str) -> bytes:
    payload = wifi_config_pb2.WiFiConfigPayload(msg=wifi_config_pb2.TypeCmdSetConfig)
    payload.cmd_set_config.ssid = ssid.encode()
    payload.cmd_set_config.passphrase = passphrase.encode()
    return payload.SerializeToString()


def parse_set_config_response(data: bytes) -> None:
    payload = _parse(wifi_config_pb2.WiFiConfigPayload, data, "Wi-Fi config")
    if payload.WhichOneof("payload") != "resp_set_config":
        raise ValueError("Wi-Fi config: the answer is not a RespSetConfig")
    if payload.resp_set_config.status != constants_pb2.Success:
        raise StatusError("Wi-Fi config", payload.resp_set_config.status)


def apply_config_request() -> bytes:
    payload = wifi_config_pb2.WiFiConfigPayload(msg=wifi_config_pb2.TypeCmdApplyConfig)
    payload.cmd_apply_config.SetInParent()
    return payload.SerializeToString()


def parse_apply_config_response(data: bytes) -> None:
    payload = _parse(wifi_config_pb2.WiFiConfigPayload, data, "applying the Wi-Fi config")
    if payload.WhichOneof("payload") != "resp_apply_config":
        raise ValueError("applying the Wi-Fi config: the answer is not a RespApplyConfig")
    if payload.resp_apply_config.status != constants_pb2.Success:
        raise StatusError("applying the Wi-Fi config", payload.resp_apply_config.status)


def ctrl_reset_request() -> bytes:
    """`prov-ctrl` reset: the device forgets the credentials it was given, so it can be
    provisioned again (ESP-IDF accepts it only while the station is not connected)."""
    payload = wifi_ctrl_pb2.WiFiCtrlPayload(msg=wifi_ctrl_pb2.TypeCmdCtrlReset)
    payload.cmd_ctrl_reset.SetInParent()
    return payload.SerializeToString()


def ctrl_reprov_request() -> bytes:
    """`prov-ctrl` re-provision: the device drops its network and takes new credentials."""
    payload = wifi_ctrl_pb2.WiFiCtrlPayload(msg=wifi_ctrl_pb2.TypeCmdCtrlReprov)
    payload.cmd_ctrl_reprov.SetInParent()
    return payload.SerializeToString()


def parse_ctrl_response(data: bytes) -> None:
    payload = _parse(wifi_ctrl_pb2.WiFiCtrlPayload, data, "Wi-Fi control")
    if payload.msg not in (wifi_ctrl_pb2.TypeRespCtrlReset, wifi_ctrl_pb2.TypeRespCtrlReprov):
        raise ValueError("Wi-Fi control: the answer is not a control response")
    if payload.status != constants_pb2.Success:
        raise StatusError("Wi-Fi control", payload.status)


# ---------------------------------------------------------------------- Wi-Fi scan

SCAN_RESULTS_PER_REQUEST = 4
"""Results asked for at once: a BLE answer stays small (esp_prov asks for 4 too)."""

_AUTH_MODES = {int(value): name.lower() for name, value in wifi_constants_pb2.WifiAuthMode.items()}


@dataclass(frozen=True)
class ScannedNetwork:
    """One access point the device hears."""

    ssid: str
    rssi: int
    channel: int
    auth: str
    """`open`, `wpa2_psk`, `wpa3_psk`, ... (ESP-IDF's `WifiAuthMode`, lower case)."""
    bssid: str


def _scan_payload(data: bytes, expected: str) -> wifi_scan_pb2.WiFiScanPayload:
    payload = _parse(wifi_scan_pb2.WiFiScanPayload, data, "Wi-Fi scan")
    if payload.status != constants_pb2.Success:
        raise StatusError("Wi-Fi scan", payload.status)
    if payload.WhichOneof("payload") != expected:
        raise ValueError(f"Wi-Fi scan: the answer is not a {expected}")
    return payload


def scan_start_request() -> bytes:
    """A blocking scan: the device answers once it has scanned every channel."""
    payload = wifi_scan_pb2.WiFiScanPayload(msg=wifi_scan_pb2.TypeCmdScanStart)
    payload.cmd_scan_start.blocking = True
    return payload.SerializeToString()


def parse_scan_start_response(data: bytes) -> None:
    _scan_payload(data, "resp_scan_start")


def scan_status_request() -> bytes:
    payload = wifi_scan_pb2.WiFiScanPayload(msg=wifi_scan_pb2.TypeCmdScanStatus)
    payload.cmd_scan_status.SetInParent()
    return payload.SerializeToString()


def parse_scan_status_response(data: bytes) -> tuple[bool, int]:
    """Whether the scan finished, and how many results it has."""
    status = _scan_payload(data, "resp_scan_status").resp_scan_status
    return status.scan_finished, status.result_count


def scan_result_request(start: int, count: int) -> bytes:
    payload = wifi_scan_pb2.WiFiScanPayload(msg=wifi_scan_pb2.TypeCmdScanResult)
    payload.cmd_scan_result.start_index = start
    payload.cmd_scan_result.count = count
    return payload.SerializeToString()


def parse_scan_result_response(data: bytes) -> list[ScannedNetwork]:
    entries = _scan_payload(data, "resp_scan_result").resp_scan_result.entries
    return [
        ScannedNetwork(
            ssid=entry.ssid.decode("utf-8", errors="replace"),
            rssi=entry.rssi,
            channel=entry.channel,
            auth=_AUTH_MODES.get(entry.auth, str(entry.auth)),
            bssid=entry.bssid.hex(":"),
        )
        for entry in entries
    ]
