"""One simulated Wi-Fi device: its configuration, join state machine, faults and counters.

Nothing here does I/O. Time is passed in (`now`, seconds on the event loop's clock) so
the state machine can be tested without sleeping.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL = "SNSW-001X16EU"
DEFAULT_FIRMWARE = "1.4.2"
CONNECTED_RSSI = -55
STA_SUBNET_PREFIX = "10.77.0."

# Shelly calls the product family `app`; the AP ssid of a device in set-up mode is built
# from it, as real devices do.
_APP_BY_MODEL = {
    "SNSW-001X16EU": "Plus1",
    "SNSW-001P16EU": "Plus1PM",
    "SPSW-004PE16EU": "Pro4PM",
}


class JoinStatus(StrEnum):
    """The `status` field of `WiFi.GetStatus`."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    GOT_IP = "got ip"


class JoinFailure(StrEnum):
    """Why a join ended in `disconnected` (simulator extension `sta_error`).

    Stands for the ESP-IDF disconnect reason a real device logs but does not report.
    """

    NO_AP_FOUND = "no_ap_found"
    AUTH_FAILED = "auth_failed"


CountedFault = Literal["busy", "drop_after_apply", "garbled_responses", "server_errors"]


class DeviceFaults(BaseModel):
    """Fault knobs of one device; counted knobs are used up one request at a time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency: float = Field(default=0.0, ge=0, le=300, description="Seconds added to every RPC.")
    unreachable: bool = Field(
        default=False, description="Drop every connection without a response (out of range)."
    )
    wrong_passphrase: bool = Field(
        default=False, description="Every join ends in auth_failed, whatever the passphrase."
    )
    drop_after_apply: int = Field(
        default=0,
        ge=0,
        description="The next N WiFi.SetConfig apply the config, then drop the connection.",
    )
    slow_join: float = Field(default=0.0, ge=0, le=3600, description="Extra seconds to join.")
    busy: int = Field(default=0, ge=0, description="The next N RPCs answer -114 (busy).")
    busy_retry_after: float = Field(
        default=1.0, gt=0, le=3600, description="Retry hint sent with a busy answer (seconds)."
    )
    never_joins: bool = Field(default=False, description="Joining stays `connecting` forever.")
    garbled_responses: int = Field(
        default=0, ge=0, description="The next N RPCs answer a body that is not JSON."
    )
    server_errors: int = Field(
        default=0, ge=0, description="The next N RPCs answer HTTP 500 without an RPC frame."
    )
    lost_after_failed_join: bool = Field(
        default=False,
        description="A device that left its network and fails to join the new one never "
        "falls back to its fallback station (`sta1`): it stays off every network, "
        "unreachable, until reset through the control API.",
    )


@dataclass(frozen=True)
class StaConfig:
    """Station (client) configuration: the network the device should join."""

    ssid: str | None = None
    passphrase: str = field(default="", repr=False)
    enable: bool = False

    @property
    def is_open(self) -> bool:
        return self.passphrase == ""


@dataclass(frozen=True)
class WifiStatus:
    """Result of `WiFi.GetStatus` at one instant."""

    status: JoinStatus
    ssid: str | None = None
    sta_ip: str | None = None
    rssi: int | None = None
    sta_error: JoinFailure | None = None

    def as_rpc_result(self) -> dict[str, object]:
        """The wire form; `sta_error` appears only when a join failed."""
        result: dict[str, object] = {
            "sta_ip": self.sta_ip,
            "status": self.status.value,
            "ssid": self.ssid,
            "rssi": self.rssi,
        }
        if self.sta_error is not None:
            result["sta_error"] = self.sta_error.value
        return result


@dataclass
class DeviceCounters:
    """Side effects seen by the device, for tests to assert on."""

    wifi_config_writes: int = 0
    """Times the stored STA configuration actually changed."""
    set_config_calls: int = 0
    """Valid WiFi.SetConfig requests processed (changed or not)."""
    factory_resets: int = 0
    rpc_calls: dict[str, int] = field(default_factory=dict)
    """RPC requests received, by method name (including refused ones)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "wifi_config_writes": self.wifi_config_writes,
            "set_config_calls": self.set_config_calls,
            "factory_resets": self.factory_resets,
            "rpc_calls": dict(sorted(self.rpc_calls.items())),
        }


def _mac_for(device_id: str) -> str:
    # Stable per id, so a restarted simulator reports the same MAC for the same device.
    return hashlib.sha256(device_id.encode()).hexdigest()[:12].upper()


class ClientIdentity(Protocol):
    """A device's own TLS client key and the certificate its cloud signed for it
    (e.g. `simulators.aws_iot.SimulatedAwsIotDevice`): the key never leaves the device."""

    def certificate_signing_request(self) -> str:
        """A PEM CSR for the device's key, made on the first call and kept after."""
        ...

    def receive_certificate(self, certificate_pem: str) -> None:
        """Keep the certificate; `ValueError` if it is not one."""
        ...

    def factory_reset(self) -> None:
        """Forget the key and the certificate."""
        ...

    @property
    def has_certificate(self) -> bool:
        """Whether the device holds a certificate."""
        ...


@dataclass
class SimulatedWifiDevice:
    """A Wi-Fi device in set-up mode, as its local RPC API shows it.

    Set-up mode means the access point is on and the station is off. Once a station
    configuration is applied the device starts joining: `connecting` for
    `join_delay + faults.slow_join` seconds, then `got ip`, or `disconnected` with a
    `sta_error` when the network is absent or refuses the passphrase.
    """

    device_id: str
    model: str = DEFAULT_MODEL
    firmware: str = DEFAULT_FIRMWARE
    mac: str = ""
    auth_enabled: bool = False
    join_delay: float = 1.0
    faults: DeviceFaults = field(default_factory=DeviceFaults)
    host_number: int = 10
    """Last octet of the address the device gets once joined."""
    ap_enabled: bool = True
    sta: StaConfig = field(default_factory=StaConfig)
    sta1: StaConfig = field(default_factory=StaConfig)
    """The fallback station (Shelly Gen2 `sta1`): joined when `sta` cannot be."""
    sta_applied_at: float | None = None
    left_network: bool = False
    """The device changed its station configuration while on a network: it dropped off
    that network, and a gateway reaches it only once it is on one again."""
    counters: DeviceCounters = field(default_factory=DeviceCounters)
    client_identity: ClientIdentity | None = None
    """The device's TLS client identity, for devices registered with a cloud by CSR
    (`Shelly.GetTLSClientCSR`, `Shelly.PutTLSClientCert`); None: the device has none."""

    def __post_init__(self) -> None:
        if not self.mac:
            self.mac = _mac_for(self.device_id)

    @property
    def app(self) -> str:
        """Shelly product family name."""
        return _APP_BY_MODEL.get(self.model, "Generic")

    @property
    def ap_ssid(self) -> str:
        return f"Shelly{self.app}-{self.mac}"

    @property
    def in_setup_mode(self) -> bool:
        return self.ap_enabled and not self.sta.enable

    @property
    def sta_ip(self) -> str:
        return f"{STA_SUBNET_PREFIX}{self.host_number}"

    def record_rpc(self, method: str) -> None:
        self.counters.rpc_calls[method] = self.counters.rpc_calls.get(method, 0) + 1

    def take_fault(self, name: CountedFault) -> bool:
        """Use up one unit of a counted fault; True if it applies to this request."""
        remaining: int = getattr(self.faults, name)
        if remaining <= 0:
            return False
        self.faults = self.faults.model_copy(update={name: remaining - 1})
        return True

    def configure_sta(
        self,
        config: StaConfig,
        now: float,
        *,
        sta1: StaConfig | None = None,
        networks: Mapping[str, str] | None = None,
    ) -> bool:
        """Store a station configuration (and a fallback one, `sta1`); returns whether
        it changed anything.

        Only a change restarts the join, as a device that persists its configuration
        and reconnects only when it differs. A device on a network (`networks` given)
        that changes its configuration leaves that network: it is unreachable until it
        joins one again (`reachable`).
        """
        self.counters.set_config_calls += 1
        sta1 = self.sta1 if sta1 is None else sta1
        if config == self.sta and sta1 == self.sta1:
            return False
        if networks is not None and self.wifi_status(now, networks).status is JoinStatus.GOT_IP:
            self.left_network = True
        self.sta = config
        self.sta1 = sta1
        self.sta_applied_at = now
        self.counters.wifi_config_writes += 1
        return True

    def current_station(self, now: float, networks: Mapping[str, str]) -> StaConfig | None:
        """The station configuration the device is on a network with now, if any."""
        status = self.wifi_status(now, networks)
        if status.status is not JoinStatus.GOT_IP:
            return None
        for config in (self.sta, self.sta1):
            if config.enable and config.ssid == status.ssid:
                return config
        return None

    def reachable(self, now: float, networks: Mapping[str, str]) -> bool:
        """Whether a gateway reaches the device: always in set-up mode (its access
        point); once it left a network for another, only while it is on one."""
        if not self.left_network:
            return True
        return self.wifi_status(now, networks).status is JoinStatus.GOT_IP

    def factory_reset(self) -> None:
        """Forget the station configuration and the TLS client identity, and go back to
        set-up mode."""
        self.counters.factory_resets += 1
        self._enter_setup_mode()

    def restore(self) -> None:
        """Control-API reset: set-up mode with no faults and zeroed counters."""
        self._enter_setup_mode()
        self.faults = DeviceFaults()
        self.counters = DeviceCounters()

    def _enter_setup_mode(self) -> None:
        self.ap_enabled = True
        self.sta = StaConfig()
        self.sta1 = StaConfig()
        self.sta_applied_at = None
        self.left_network = False
        if self.client_identity is not None:
            self.client_identity.factory_reset()

    def wifi_status(self, now: float, networks: Mapping[str, str]) -> WifiStatus:
        """Where the join stands at `now`, given the networks in range (ssid → passphrase).

        The outcome is computed from the current world each time, so changing the
        networks or the faults takes effect on the next status read.
        """
        stations = [c for c in (self.sta, self.sta1) if c.enable and c.ssid]
        if not stations:
            return WifiStatus(JoinStatus.DISCONNECTED)
        sta = stations[0]
        if self.faults.never_joins:
            return WifiStatus(JoinStatus.CONNECTING, ssid=sta.ssid)
        elapsed = math.inf if self.sta_applied_at is None else now - self.sta_applied_at
        join_time = self.join_delay + self.faults.slow_join
        if elapsed < join_time:
            return WifiStatus(JoinStatus.CONNECTING, ssid=sta.ssid)
        failure = self._join_failure(sta, networks, primary=True)
        if failure is None:
            return self._joined(sta)
        fallback = stations[1] if len(stations) > 1 else None
        if fallback is not None and not self.faults.lost_after_failed_join:
            # The firmware tries its fallback station once the first one failed.
            if elapsed < join_time + self.join_delay:
                return WifiStatus(JoinStatus.CONNECTING, ssid=fallback.ssid)
            if self._join_failure(fallback, networks, primary=False) is None:
                return self._joined(fallback)
        return WifiStatus(JoinStatus.DISCONNECTED, ssid=sta.ssid, sta_error=failure)

    def _join_failure(
        self, sta: StaConfig, networks: Mapping[str, str], *, primary: bool
    ) -> JoinFailure | None:
        expected = networks.get(sta.ssid or "")
        if expected is None:
            return JoinFailure.NO_AP_FOUND
        if (primary and self.faults.wrong_passphrase) or expected != sta.passphrase:
            return JoinFailure.AUTH_FAILED
        return None

    def _joined(self, sta: StaConfig) -> WifiStatus:
        return WifiStatus(JoinStatus.GOT_IP, ssid=sta.ssid, sta_ip=self.sta_ip, rssi=CONNECTED_RSSI)

    def snapshot(self, now: float, networks: Mapping[str, str]) -> dict[str, object]:
        """State, counters and faults for the control API; never the passphrase."""
        return {
            "device_id": self.device_id,
            "model": self.model,
            "firmware": self.firmware,
            "mac": self.mac,
            "auth_enabled": self.auth_enabled,
            "join_delay": self.join_delay,
            "setup_mode": self.in_setup_mode,
            "wifi": {
                "ap": {"ssid": self.ap_ssid, "enable": self.ap_enabled},
                "sta": {
                    "ssid": self.sta.ssid,
                    "is_open": self.sta.is_open,
                    "enable": self.sta.enable,
                },
                "sta1": {
                    "ssid": self.sta1.ssid,
                    "is_open": self.sta1.is_open,
                    "enable": self.sta1.enable,
                },
                "status": self.wifi_status(now, networks).as_rpc_result(),
                "reachable": self.reachable(now, networks),
            },
            "counters": self.counters.as_dict(),
            "faults": self.faults.model_dump(),
            "tls_client": (
                None
                if self.client_identity is None
                else {"has_certificate": self.client_identity.has_certificate}
            ),
        }
