"""ESP-IDF unified provisioning over BLE, one operation per call, on a gateway's `BleStack`.

Every operation finds the device by scanning, connects, opens a secure session (ESP-IDF
opens one per connection), does its work and disconnects, so any call can be retried
on its own. Provisioning sends the Wi-Fi configuration, applies it and follows the
station's status in the same session: ESP-IDF's provisioning manager stops its BLE
service a while after the device joined (CONFIG_WIFI_PROV_AUTOSTOP_TIMEOUT, 30 s by
default), so a later connection may find nobody to ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from adapters.ble.errors import BleDeviceNotFound, ble_failure
from adapters.ble.stack import BleStack
from adapters.errors import CredentialsRejected, DeviceProtocolError, DeviceRejectedRequest
from adapters.esp_prov.errors import JoinNotConfirmed, NetworkNotFound
from adapters.esp_prov.protocol import (
    DEFAULT_SERVICE_UUID,
    Endpoint,
    FailReason,
    ScannedNetwork,
    SecurityScheme,
    StationState,
    VersionInfo,
    WifiStatus,
)
from adapters.esp_prov.security import Security1Handshake, Security2Handshake, SecurityHandshake
from adapters.esp_prov.session import EspProvSession, EspProvTimeouts
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin
from domain.requests import NetworkCredentials

logger = logging.getLogger("devprov.adapters.esp_prov")

BLE_ADDRESS_HINT = "ble_address"
"""`transport_hints` key: the device's BLE address."""
BLE_NAME_HINT = "ble_name"
"""`transport_hints` key: the name it advertises (ESP-IDF's examples: `PROV_` + MAC tail)."""
SERVICE_UUID_HINT = "esp_service_uuid"
"""`transport_hints` key: the product's provisioning service UUID (default: ESP-IDF's examples')."""

DEFAULT_SCAN_TIMEOUT = 5.0

Heartbeat = Callable[[str], None]
"""Called while the adapter waits on the device (activities heartbeat)."""


@dataclass(frozen=True)
class EspSecurity:
    """The secret a device's secure session needs; the secret never shows in a repr.

    Attributes:
        scheme: SEC2 (SRP6a: `username` and `secret` as its password), SEC1 (`secret`
            as the proof of possession, empty for `no_pop` devices) or SEC0 (none).
    """

    scheme: SecurityScheme
    secret: str = field(default="", repr=False)
    username: str = "wifiprov"

    def __post_init__(self) -> None:
        if self.scheme is SecurityScheme.SEC2 and not (self.username and self.secret):
            raise ValueError("security 2 needs a username and a password")

    @classmethod
    def sec2(cls, username: str, password: str) -> EspSecurity:
        return cls(SecurityScheme.SEC2, password, username)

    @classmethod
    def sec1(cls, proof_of_possession: str | None) -> EspSecurity:
        return cls(SecurityScheme.SEC1, proof_of_possession or "")

    def handshake(self, version: VersionInfo) -> SecurityHandshake | None:
        """A fresh handshake for one session with a device of `version`."""
        match self.scheme:
            case SecurityScheme.SEC2:
                return Security2Handshake(
                    self.username, self.secret, counting_nonce=version.security_patch >= 1
                )
            case SecurityScheme.SEC1:
                return Security1Handshake(self.secret or None)
        return None


@dataclass(frozen=True)
class EspDeviceMatch:
    """Which advertisement of the provisioning service is the requested device."""

    service_uuid: str
    address: str | None = None
    name: str | None = None

    @classmethod
    def for_device(cls, device: DeviceDescriptor) -> EspDeviceMatch:
        hints = device.transport_hints
        service = (hints.get(SERVICE_UUID_HINT) or DEFAULT_SERVICE_UUID).lower()
        address = hints.get(BLE_ADDRESS_HINT)
        name = hints.get(BLE_NAME_HINT)
        if address:
            return cls(service, address=address.upper(), name=name)
        return cls(service, name=name or device.device_id)

    def matches(self, ble_device: BLEDevice, advertisement: AdvertisementData) -> bool:
        if self.service_uuid not in (uuid.lower() for uuid in advertisement.service_uuids):
            return False
        if self.address is not None and ble_device.address.upper() != self.address:
            return False
        return self.name is None or advertisement.local_name == self.name

    def __str__(self) -> str:
        return f"address {self.address}" if self.address else f"name '{self.name}'"


@dataclass(frozen=True)
class EspDeviceCheck:
    """What the pre-check learnt over a secure session."""

    version: VersionInfo
    status: WifiStatus
    endpoints: frozenset[str]


class EspProvBleAdapter:
    """Provisions ESP-IDF devices in BLE range of one gateway.

    Args:
        stack: The gateway's BLE radio.
        scan_timeout: Seconds to listen for the device's advertisement.
        timeouts: Connection and GATT timeouts of each session.
        poll_every: Seconds between two Wi-Fi status requests while the device joins.
    """

    def __init__(
        self,
        stack: BleStack,
        *,
        scan_timeout: float = DEFAULT_SCAN_TIMEOUT,
        timeouts: EspProvTimeouts | None = None,
        poll_every: float = 0.5,
    ) -> None:
        if scan_timeout <= 0 or poll_every <= 0:
            raise ValueError("scan_timeout and poll_every must be positive")
        self._stack = stack
        self._scan_timeout = scan_timeout
        self._timeouts = timeouts or EspProvTimeouts()
        self._poll_every = poll_every

    def _details(self, device: DeviceDescriptor, **extra: str) -> dict[str, str]:
        details = {"device_id": device.device_id, "backend": str(self._stack.spec), **extra}
        if self._stack.address:
            details["gateway_address"] = self._stack.address
        return details

    # ------------------------------------------------------------------ finding

    async def _find(
        self, device: DeviceDescriptor
    ) -> tuple[EspDeviceMatch, BLEDevice, AdvertisementData]:
        match = EspDeviceMatch.for_device(device)
        loop = asyncio.get_running_loop()
        heard: asyncio.Future[tuple[BLEDevice, AdvertisementData]] = loop.create_future()

        def on_advertisement(ble_device: BLEDevice, advertisement: AdvertisementData) -> None:
            if not heard.done() and match.matches(ble_device, advertisement):
                heard.set_result((ble_device, advertisement))

        scanner = self._stack.scanner(on_advertisement, [match.service_uuid])
        details = self._details(device, match=str(match))
        try:
            await scanner.start()
        except Exception as exc:
            raise ble_failure(
                exc, operation="starting a BLE scan", connected=True, details=details
            ) from exc
        try:
            async with asyncio.timeout(self._scan_timeout):
                ble_device, advertisement = await heard
        except TimeoutError:
            raise BleDeviceNotFound(
                f"no ESP-IDF provisioning device with {match} advertised within "
                f"{self._scan_timeout:g} s: it is out of range, off, or already provisioned",
                details={**details, "reason": "not_advertising"},
            ) from None
        finally:
            with contextlib.suppress(Exception):
                await scanner.stop()
        return match, ble_device, advertisement

    async def detect(self, device: DeviceDescriptor) -> DetectedDevice:
        """Hear the device's advertisement (no connection)."""
        _, ble_device, advertisement = await self._find(device)
        attributes = {
            "ble_address": ble_device.address,
            "ble_name": advertisement.local_name or "",
            "rssi": str(advertisement.rssi),
        }
        if self._stack.address:
            attributes["gateway_address"] = self._stack.address
        return DetectedDevice(device_id=device.device_id, attributes=attributes)

    @contextlib.asynccontextmanager
    async def session(
        self, device: DeviceDescriptor, security: EspSecurity | None
    ) -> AsyncIterator[tuple[EspProvSession, VersionInfo]]:
        """Find the device, connect, read its version and open the secure session.

        `security=None` connects without a session (only `proto-ver` answers then).
        """
        match, ble_device, _ = await self._find(device)
        details = self._details(device, ble_address=ble_device.address)
        async with EspProvSession.connect(
            self._stack,
            ble_device,
            service_uuid=match.service_uuid,
            subject=f"device '{device.device_id}' ({ble_device.address})",
            details=details,
            timeouts=self._timeouts,
        ) as session:
            version = await session.version()
            if security is not None:
                handshake = security.handshake(version)
                session.check_scheme(version, handshake)
                await session.establish(handshake)
            yield session, version

    # ------------------------------------------------------------------ operations

    async def read_version(self, device: DeviceDescriptor) -> VersionInfo:
        """The device's `proto-ver`: provisioning version, security scheme, capabilities."""
        async with self.session(device, None) as (_, version):
            return version

    async def check(self, device: DeviceDescriptor, security: EspSecurity) -> EspDeviceCheck:
        """Open a secure session and read the version and Wi-Fi status: proves the secret
        before anything changes on the device.

        Raises:
            SessionAuthFailed: The secret is wrong.
            SecuritySchemeMismatch: The device uses another scheme.
        """
        async with self.session(device, security) as (session, version):
            status = await session.wifi_status()
            return EspDeviceCheck(version=version, status=status, endpoints=session.endpoints)

    async def wifi_status(self, device: DeviceDescriptor, security: EspSecurity) -> WifiStatus:
        async with self.session(device, security) as (session, _):
            return await session.wifi_status()

    async def scan_networks(
        self, device: DeviceDescriptor, security: EspSecurity
    ) -> list[ScannedNetwork]:
        """The Wi-Fi networks the device hears, strongest first."""
        async with self.session(device, security) as (session, _):
            networks = await session.scan_networks()
        return sorted(networks, key=lambda network: network.rssi, reverse=True)

    async def send_wifi_config(
        self, device: DeviceDescriptor, security: EspSecurity, network: NetworkCredentials
    ) -> None:
        """Send the Wi-Fi configuration and apply it (the device starts joining).

        Safe to repeat: a device that already joined `network` is left as it is.
        """
        async with self.session(device, security) as (session, _):
            await self._send(session, network)

    async def await_join(
        self,
        device: DeviceDescriptor,
        security: EspSecurity,
        ssid: str,
        *,
        timeout: float,
        heartbeat: Heartbeat | None = None,
    ) -> NetworkJoin:
        """Follow the station's status over a session until it joined `ssid`.

        Raises:
            CredentialsRejected: The network refused the passphrase (`AuthError`).
            NetworkNotFound: The device did not find the SSID.
            JoinNotConfirmed: Still not connected after `timeout` seconds.
        """
        async with self.session(device, security) as (session, _):
            return await self._await_join(session, ssid, timeout, heartbeat)

    async def provision(
        self,
        device: DeviceDescriptor,
        security: EspSecurity,
        network: NetworkCredentials,
        *,
        timeout: float,
        heartbeat: Heartbeat | None = None,
    ) -> NetworkJoin:
        """`send_wifi_config` and `await_join` in one session (as ESP-IDF's `esp_prov`)."""
        async with self.session(device, security) as (session, _):
            await self._send(session, network)
            return await self._await_join(session, network.ssid, timeout, heartbeat)

    async def _send(self, session: EspProvSession, network: NetworkCredentials) -> None:
        status = await session.wifi_status()
        if status.state is StationState.CONNECTED and status.ssid == network.ssid:
            return  # this step ran before and the device joined
        if status.state is not StationState.DISCONNECTED:
            # ESP-IDF takes credentials once per provisioning: a station that took some
            # (joining, failed, or joined elsewhere) forgets them first.
            if Endpoint.CTRL not in session.endpoints:
                raise DeviceRejectedRequest(
                    f"{session.subject} took Wi-Fi credentials already (station "
                    f"{status.state.value}) and offers no prov-ctrl endpoint to forget them: "
                    "restart it in provisioning mode",
                    details={**session.details, "station_state": status.state.value},
                )
            await session.reset_wifi(connected=status.state is StationState.CONNECTED)
        await session.set_wifi_config(network.ssid, network.passphrase.get_secret_value())
        await session.apply_wifi_config()
        logger.info("%s: Wi-Fi configuration for %r applied", session.subject, network.ssid)

    async def _await_join(
        self,
        session: EspProvSession,
        ssid: str,
        timeout: float,
        heartbeat: Heartbeat | None,
    ) -> NetworkJoin:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        details = {**session.details, "ssid": ssid}
        while True:
            status = await session.wifi_status()
            match status.state:
                case StationState.CONNECTED:
                    return NetworkJoin(ssid=status.ssid or ssid, address=status.ip_address or "")
                case StationState.CONNECTION_FAILED if (
                    status.fail_reason is FailReason.NETWORK_NOT_FOUND
                ):
                    raise NetworkNotFound(
                        f"{session.subject} did not find the network '{ssid}'",
                        details={**details, "fail_reason": status.fail_reason.value},
                    )
                case StationState.CONNECTION_FAILED:
                    raise CredentialsRejected(
                        f"{session.subject} could not join '{ssid}': the network refused "
                        "the passphrase",
                        details={**details, "fail_reason": "auth_error"},
                    )
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise JoinNotConfirmed(
                    f"{session.subject} did not report joining '{ssid}' within {timeout:g} s "
                    f"(station {status.state.value})",
                    details={**details, "station_state": status.state.value},
                )
            if heartbeat is not None:
                heartbeat(f"waiting for it to join '{ssid}' ({status.state.value})")
            await asyncio.sleep(min(self._poll_every, remaining))

    async def reset(self, device: DeviceDescriptor, security: EspSecurity) -> None:
        """Make the device forget the Wi-Fi credentials it was given (`prov-ctrl`): safe to
        repeat, whatever the station's state."""
        async with self.session(device, security) as (session, _):
            connected = (await session.wifi_status()).state is StationState.CONNECTED
            try:
                await session.reset_wifi(connected=connected)
            except DeviceProtocolError:
                # ESP-IDF resets only a station that is not connected: it may have
                # joined between the two requests.
                if connected or (await session.wifi_status()).state is not (StationState.CONNECTED):
                    raise
                await session.reset_wifi(connected=True)
