"""One simulated Improv device: its state machine, faults and counters, without I/O.

States follow the Improv BLE specification (https://www.improv-wifi.com/ble/):
authorization required → (button) authorized → (Wi-Fi settings) provisioning →
provisioned, or back to authorized with `UNABLE_TO_CONNECT`. An authorization expires
after `authorization_timeout` seconds and restarts after a failed join.

Time is passed in (`now`, seconds on a monotonic clock) so tests drive the machine
without sleeping. Every change the radio side must publish (a notification, new
advertising data, a dropped link) is queued as an effect; `ImprovPeripheral` drains
and applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from improv_ble_client.errors import InvalidCommand
from improv_ble_client.protocol import (
    HEADER,
    Capabilities,
    DeviceInfoCmd,
    DeviceInfoRes,
    Error,
    IdentifyCmd,
    State,
    WiFiSettingsCmd,
    WiFiSettingsRes,
)
from pydantic import BaseModel, ConfigDict, Field

CharacteristicName = Literal["capabilities", "state", "error", "rpc_command", "rpc_result"]
NotifiedCharacteristic = Literal["state", "error", "rpc_result"]

PREVIOUS_NETWORK_SSID = "devprov-previous"
"""The network an `already_provisioned` device joined before."""

JOINED_SUBNET_PREFIX = "10.78.0."

_DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class ImprovDeviceFaults(BaseModel):
    """Fault knobs of one simulated Improv device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auto_authorize: bool = Field(
        default=False,
        description="A device without a button: always authorized, never requires it.",
    )
    never_authorizes: bool = Field(default=False, description="Button presses are ignored.")
    person_presses_after: float | None = Field(
        default=None,
        ge=0,
        le=3600,
        description=(
            "A person standing by presses the button this many seconds after a gateway "
            "connects while the device requires authorization."
        ),
    )
    drop_link_mid_provision: int = Field(
        default=0,
        ge=0,
        description=(
            "The next N Wi-Fi settings commands: the device takes the credentials, drops "
            "the BLE link before answering, and keeps joining the network."
        ),
    )
    never_reports: bool = Field(
        default=False,
        description="Joins the network but never reports it (stays provisioning, no result).",
    )
    already_provisioned: bool = Field(
        default=False,
        description=f"Provisioned before, for network '{PREVIOUS_NETWORK_SSID}'.",
    )
    gatt_unresponsive: bool = Field(
        default=False, description="Stops answering GATT reads and writes (they time out)."
    )
    lan_isolated: bool = Field(
        default=False,
        description=(
            "Joins, but cannot be reached on its network (client isolation on the access "
            "point): its web page does not answer."
        ),
    )


class ImprovDeviceSpec(BaseModel):
    """What a simulated Improv device is; `faults` are the knobs it starts (and resets) with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(pattern=_DEVICE_ID_PATTERN)
    name: str | None = Field(
        default=None, min_length=1, max_length=64, description="BLE local name; the id if unset."
    )
    address: str | None = Field(
        default=None,
        pattern=r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$",
        description="Static random BLE address; derived from the id if unset.",
    )
    identify: bool = True
    device_info: bool = True
    firmware_name: str = "devprov-sim"
    firmware_version: str = "2025.1.0"
    chip: str = "ESP32-C3"
    friendly_name: str | None = None
    authorization_timeout: float = Field(default=60.0, gt=0, le=3600)
    join_delay: float = Field(default=0.5, ge=0, le=3600)
    missing_characteristics: frozenset[CharacteristicName] = frozenset()
    faults: ImprovDeviceFaults = Field(default_factory=ImprovDeviceFaults)

    @property
    def local_name(self) -> str:
        return self.name or self.device_id

    @property
    def capabilities(self) -> Capabilities:
        capabilities = Capabilities(0)
        if self.identify:
            capabilities |= Capabilities.IDENTIFY
        if self.device_info:
            capabilities |= Capabilities.DEVICE_INFO
        return capabilities


@dataclass
class ImprovDeviceCounters:
    """Side effects seen by the device, for tests and people to check."""

    connections: dict[str, int] = field(default_factory=dict)
    """Connections by central (gateway) address."""
    button_presses: int = 0
    button_presses_ignored: int = 0
    authorizations_expired: int = 0
    identifies: int = 0
    credentials_received: int = 0
    """Well-formed Wi-Fi settings commands, in any state."""
    provision_attempts: int = 0
    """Credentials accepted and tried on the network."""
    provisions_succeeded: int = 0
    join_failures: int = 0
    rpc_errors: dict[str, int] = field(default_factory=dict)
    link_drops: int = 0
    factory_resets: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "connections": dict(sorted(self.connections.items())),
            "button_presses": self.button_presses,
            "button_presses_ignored": self.button_presses_ignored,
            "authorizations_expired": self.authorizations_expired,
            "identifies": self.identifies,
            "credentials_received": self.credentials_received,
            "provision_attempts": self.provision_attempts,
            "provisions_succeeded": self.provisions_succeeded,
            "join_failures": self.join_failures,
            "rpc_errors": dict(sorted(self.rpc_errors.items())),
            "link_drops": self.link_drops,
            "factory_resets": self.factory_resets,
        }


@dataclass(frozen=True)
class Notify:
    """Send `value` to the subscribers of a characteristic."""

    characteristic: NotifiedCharacteristic
    value: bytes


@dataclass(frozen=True)
class DropLink:
    """Drop the BLE link(s) now, before anything else is sent."""


@dataclass(frozen=True)
class Readvertise:
    """The advertised service data (state, capabilities) changed."""


Effect = Notify | DropLink | Readvertise


@dataclass(frozen=True)
class WifiConnection:
    """The station side of the device: the network it was given and whether it joined."""

    ssid: str | None = None
    passphrase: str = field(default="", repr=False)
    joined: bool = False
    ip: str | None = None


class RpcFrameAssembler:
    """Joins RPC command frames split over several writes (20-byte payloads at MTU 23)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Add written bytes; return the frames now complete (`<cmd><len><data…><sum>`)."""
        self._buffer += data
        frames: list[bytes] = []
        while len(self._buffer) >= HEADER.size:
            size = self._buffer[1] + HEADER.size + 1
            if len(self._buffer) < size:
                break
            frames.append(self._buffer[:size])
            self._buffer = self._buffer[size:]
        return frames


def _checksum_ok(frame: bytes) -> bool:
    return len(frame) >= 3 and frame[-1] == sum(frame[:-1]) & 0xFF


class SimulatedImprovDevice:
    """An Improv device's service, as the BLE and Wi-Fi sides see it.

    Args:
        spec: What the device is and the knobs it starts with.
        host_number: Last octet of the address it gets on the simulated Wi-Fi network.
        now: Current time, for an authorization granted from the start.
    """

    def __init__(self, spec: ImprovDeviceSpec, *, host_number: int = 10, now: float = 0.0) -> None:
        self.spec = spec
        self.host_number = host_number
        self.redirect_url: str | None = None
        """Where the device answers once joined (its simulated web page); set by the fleet."""
        self.counters = ImprovDeviceCounters()
        self.faults = spec.faults
        self.state = State.AUTHORIZATION_REQUIRED
        self.error = Error.NO_ERROR
        self.rpc_result = b""
        self.wifi = WifiConnection()
        self.authorized_until: float | None = None
        self.join_due: float | None = None
        self.press_due: float | None = None
        """When the simulated person presses the button (`person_presses_after`)."""
        self._effects: list[Effect] = []
        self._enter_initial_state(now)
        self._effects.clear()

    # ------------------------------------------------------------------ identity

    @property
    def device_id(self) -> str:
        return self.spec.device_id

    @property
    def local_name(self) -> str:
        return self.spec.local_name

    @property
    def capabilities(self) -> Capabilities:
        return self.spec.capabilities

    @property
    def ip(self) -> str:
        return f"{JOINED_SUBNET_PREFIX}{self.host_number}"

    def service_data(self) -> bytes:
        """The 6 bytes of Improv service data: state, capabilities, 4 reserved."""
        return bytes([self.state, int(self.capabilities), 0, 0, 0, 0])

    # ------------------------------------------------------------------ effects

    def drain_effects(self) -> list[Effect]:
        """The effects queued since the last call, oldest first."""
        effects, self._effects = self._effects, []
        return effects

    def _set_state(self, state: State) -> None:
        if state is not self.state:
            self.state = state
            self._effects += [Notify("state", bytes([state])), Readvertise()]

    def _set_error(self, error: Error) -> None:
        if error is not self.error:
            self.error = error
            self._effects.append(Notify("error", bytes([error])))

    def _set_result(self, result: bytes) -> None:
        self.rpc_result = result
        self._effects.append(Notify("rpc_result", result))

    def _reject(self, error: Error) -> None:
        self.counters.rpc_errors[error.name] = self.counters.rpc_errors.get(error.name, 0) + 1
        self._set_error(error)

    # ------------------------------------------------------------------ states

    def _enter_initial_state(self, now: float) -> None:
        self.error = Error.NO_ERROR
        self.rpc_result = b""
        self.wifi = WifiConnection()
        self.authorized_until = None
        self.join_due = None
        self.press_due = None
        self.state = State.AUTHORIZATION_REQUIRED
        if self.faults.already_provisioned:
            self._become_provisioned_before()
        elif self.faults.auto_authorize:
            self.state = State.AUTHORIZED
        self._effects.append(Readvertise())

    def _become_provisioned_before(self) -> None:
        self.wifi = WifiConnection(PREVIOUS_NETWORK_SSID, joined=True, ip=self.ip)
        self.rpc_result = self._wifi_result()
        self.authorized_until = None
        self.join_due = None
        self._set_state(State.PROVISIONED)

    def _authorize(self, now: float) -> None:
        self.authorized_until = (
            None if self.faults.auto_authorize else (now + self.spec.authorization_timeout)
        )
        self._set_state(State.AUTHORIZED)

    def _wifi_result(self) -> bytes:
        url = self.redirect_url.encode() if self.redirect_url else None
        return WiFiSettingsRes(url, []).as_bytes()

    def next_deadline(self) -> float | None:
        """When `tick` has something to do next: a join outcome, an authorization
        expiring, the simulated person pressing the button."""
        deadlines = [self.press_due]
        if self.state is State.PROVISIONING:
            deadlines.append(self.join_due)
        if self.state is State.AUTHORIZED:
            deadlines.append(self.authorized_until)
        due = [deadline for deadline in deadlines if deadline is not None]
        return min(due) if due else None

    def tick(self, now: float, networks: Mapping[str, str]) -> None:
        """Apply what is due at `now`: an authorization expires, a join completes, the
        simulated person presses the button."""
        if self.press_due is not None and now >= self.press_due:
            self.press_button(now)
        if (
            self.state is State.AUTHORIZED
            and self.authorized_until is not None
            and now >= self.authorized_until
        ):
            self.authorized_until = None
            self.counters.authorizations_expired += 1
            self._set_state(State.AUTHORIZATION_REQUIRED)
        if self.state is State.PROVISIONING and self.join_due is not None and now >= self.join_due:
            self.join_due = None
            self._finish_join(now, networks)

    def _finish_join(self, now: float, networks: Mapping[str, str]) -> None:
        ssid, passphrase = self.wifi.ssid, self.wifi.passphrase
        if ssid is None or networks.get(ssid) != passphrase:
            self.counters.join_failures += 1
            self.wifi = WifiConnection()
            self._reject(Error.UNABLE_TO_CONNECT)
            # The specification restarts the authorization timeout after a failed join.
            self._authorize(now)
            return
        self.wifi = WifiConnection(ssid, passphrase, joined=True, ip=self.ip)
        if self.faults.never_reports:
            return
        self.counters.provisions_succeeded += 1
        self._set_state(State.PROVISIONED)
        self._set_result(self._wifi_result())

    # ------------------------------------------------------------------ inputs

    def record_connection(self, central_address: str, now: float) -> None:
        """A gateway connected; a person standing by may get ready to press the button."""
        self.counters.connections[central_address] = (
            self.counters.connections.get(central_address, 0) + 1
        )
        delay = self.faults.person_presses_after
        if (
            delay is not None
            and self.state is State.AUTHORIZATION_REQUIRED
            and self.press_due is None
        ):
            self.press_due = now + delay

    def press_button(self, now: float) -> bool:
        """A person presses the device's button; returns whether it had an effect."""
        self.counters.button_presses += 1
        self.press_due = None
        if self.faults.never_authorizes:
            self.counters.button_presses_ignored += 1
            return False
        if self.state not in (State.AUTHORIZATION_REQUIRED, State.AUTHORIZED):
            return False
        self._authorize(now)
        return True

    def handle_rpc(self, frame: bytes, now: float) -> None:
        """One complete RPC command frame written to the RPC command characteristic."""
        if len(frame) < 3 or not _checksum_ok(frame) or frame[1] != len(frame) - 3:
            self._reject(Error.INVALID_RPC_PACKET)
            return
        command_id = frame[0]
        try:
            if command_id == WiFiSettingsCmd.cmd_id:
                self._wifi_settings(WiFiSettingsCmd.from_bytes(frame), now)
            elif command_id == IdentifyCmd.cmd_id:
                IdentifyCmd.from_bytes(frame)
                self._identify()
            elif command_id == DeviceInfoCmd.cmd_id and self.spec.device_info:
                DeviceInfoCmd.from_bytes(frame)
                self._device_info()
            else:
                self._reject(Error.UNKNOWN_RPC_COMMAND)
        except InvalidCommand:
            self._reject(Error.INVALID_RPC_PACKET)

    def _identify(self) -> None:
        if not self.spec.identify:
            self._reject(Error.UNKNOWN_RPC_COMMAND)
            return
        self._set_error(Error.NO_ERROR)
        self.counters.identifies += 1

    def _device_info(self) -> None:
        self._set_error(Error.NO_ERROR)
        spec = self.spec
        self._set_result(
            DeviceInfoRes(
                spec.firmware_name.encode(),
                spec.firmware_version.encode(),
                spec.chip.encode(),
                (spec.friendly_name or spec.device_id).encode(),
            ).as_bytes()
        )

    def _wifi_settings(self, command: WiFiSettingsCmd, now: float) -> None:
        self.counters.credentials_received += 1
        if self.state is State.AUTHORIZATION_REQUIRED:
            self._reject(Error.NOT_AUTHORIZED)
            return
        if self.state is not State.AUTHORIZED:
            # Provisioning or provisioned: the service takes no new credentials.
            self._reject(Error.UNKNOWN_ERROR)
            return
        try:
            ssid, passphrase = command.ssid.decode(), command.password.decode()
        except UnicodeDecodeError:
            self._reject(Error.INVALID_RPC_PACKET)
            return
        if self.faults.drop_link_mid_provision > 0:
            self.faults = self.faults.model_copy(
                update={"drop_link_mid_provision": self.faults.drop_link_mid_provision - 1}
            )
            self.counters.link_drops += 1
            self._effects.append(DropLink())
        self.counters.provision_attempts += 1
        self.wifi = WifiConnection(ssid, passphrase)
        self.authorized_until = None
        self.join_due = now + self.spec.join_delay
        self._set_error(Error.NO_ERROR)
        self._set_state(State.PROVISIONING)

    # ------------------------------------------------------------------ control

    def set_faults(self, faults: ImprovDeviceFaults, now: float) -> None:
        """Change the knobs; `auto_authorize` and `already_provisioned` act at once."""
        previous, self.faults = self.faults, faults
        if faults.already_provisioned and not previous.already_provisioned:
            self._become_provisioned_before()
            self._set_error(Error.NO_ERROR)
        if faults.auto_authorize and self.state is State.AUTHORIZATION_REQUIRED:
            self._authorize(now)
        elif faults.auto_authorize and self.state is State.AUTHORIZED:
            self.authorized_until = None
        elif previous.auto_authorize and self.state is State.AUTHORIZED:
            self.authorized_until = now + self.spec.authorization_timeout

    def restore(self, now: float) -> None:
        """Back to how it started: initial knobs and state, zeroed counters."""
        self.faults = self.spec.faults
        self.counters = ImprovDeviceCounters()
        self._set_error(Error.NO_ERROR)
        previous = self.state
        self._enter_initial_state(now)
        if self.state is not previous:
            self._effects.append(Notify("state", bytes([self.state])))

    def factory_reset(self, now: float) -> None:
        """Forget the network and start the Improv service again (its web reset page)."""
        self.counters.factory_resets += 1
        self.faults = self.faults.model_copy(update={"already_provisioned": False})
        self.wifi = WifiConnection()
        self.rpc_result = b""
        self.join_due = None
        self.authorized_until = None
        self.press_due = None
        self._set_error(Error.NO_ERROR)
        if self.faults.auto_authorize:
            self._set_state(State.AUTHORIZED)
        else:
            self._set_state(State.AUTHORIZATION_REQUIRED)

    # ------------------------------------------------------------------ views

    def web_page(self) -> dict[str, object] | None:
        """What the device serves at its redirect URL once joined; None before, or while
        its network keeps it from being reached."""
        if not self.wifi.joined or self.faults.lan_isolated:
            return None
        return {
            "device_id": self.device_id,
            "name": self.spec.friendly_name or self.device_id,
            "ssid": self.wifi.ssid,
            "ip": self.wifi.ip,
            "firmware": f"{self.spec.firmware_name} {self.spec.firmware_version}",
            "improv_state": self.state.name.lower(),
        }

    def snapshot(self, now: float, address: str) -> dict[str, object]:
        """State, Wi-Fi, counters and knobs for the control API; never the passphrase."""
        remaining = (
            max(0.0, round(self.authorized_until - now, 3))
            if self.authorized_until is not None
            else None
        )
        return {
            "device_id": self.device_id,
            "name": self.local_name,
            "address": address,
            "state": self.state.name.lower(),
            "error": self.error.name.lower(),
            "capabilities": [
                flag.name.lower()
                for flag in (Capabilities.IDENTIFY, Capabilities.DEVICE_INFO)
                if flag.name and self.capabilities & flag
            ],
            "authorization_expires_in": remaining,
            "wifi": {"ssid": self.wifi.ssid, "joined": self.wifi.joined, "ip": self.wifi.ip},
            "redirect_url": self.redirect_url,
            "missing_characteristics": sorted(self.spec.missing_characteristics),
            "counters": self.counters.as_dict(),
            "faults": self.faults.model_dump(),
        }
