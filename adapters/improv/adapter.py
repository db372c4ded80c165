"""Improv Wi-Fi onboarding over BLE, one operation per call, on a gateway's `BleStack`.

Every operation finds the device by scanning (its address may change between
attempts, and the scan refreshes its advertised state), connects, does its work and
disconnects: nothing is held between calls, so any call can be retried on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from improv_ble_client.protocol import SERVICE_UUID, Capabilities, State

from adapters.ble.errors import BleDeviceNotFound, ble_failure
from adapters.ble.stack import BleStack
from adapters.errors import DeviceUnreachable
from adapters.improv.advertisement import ImprovAdvertisement, ImprovDeviceMatch
from adapters.improv.errors import ImprovNotAuthorized
from adapters.improv.session import Heartbeat, ImprovSession, ImprovTimeouts
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice
from domain.requests import NetworkCredentials

logger = logging.getLogger("devprov.adapters.improv")

DEFAULT_SCAN_TIMEOUT = 5.0


def state_name(state: State | None) -> str:
    """`authorization_required`, `authorized`, ... (`unknown` when not advertised)."""
    return state.name.lower() if state is not None else "unknown"


def capability_names(capabilities: Capabilities | None) -> str:
    """Comma-separated capability names, e.g. `identify,device_info`."""
    if capabilities is None:
        return ""
    return ",".join(
        flag.name.lower()
        for flag in (
            Capabilities.IDENTIFY,
            Capabilities.DEVICE_INFO,
            Capabilities.SCAN_WIFI,
            Capabilities.HOSTNAME,
        )
        if flag.name and capabilities & flag
    )


@dataclass(frozen=True)
class ImprovProvisioning:
    """Outcome of handing a device its Wi-Fi credentials.

    Attributes:
        redirect_url: Where the device says it answers now (its web UI), if it says.
        credentials_sent: False when the device was already provisioned or still
            joining with credentials from an earlier attempt, so nothing was re-sent.
    """

    redirect_url: str | None
    credentials_sent: bool


class ImprovBleAdapter:
    """Onboards Improv devices in range of one gateway.

    Args:
        stack: The gateway's BLE radio.
        scan_timeout: Seconds to listen for the device's advertisement.
        timeouts: Connection, GATT and result timeouts of each session.
    """

    def __init__(
        self,
        stack: BleStack,
        *,
        scan_timeout: float = DEFAULT_SCAN_TIMEOUT,
        timeouts: ImprovTimeouts | None = None,
    ) -> None:
        if scan_timeout <= 0:
            raise ValueError("scan_timeout must be positive")
        self._stack = stack
        self._scan_timeout = scan_timeout
        self._timeouts = timeouts or ImprovTimeouts()
        self._sessions: dict[str, set[ImprovSession]] = {}

    @property
    def gateway_address(self) -> str | None:
        """The gateway's own BLE address, when its backend knows it."""
        return self._stack.address

    # ------------------------------------------------------------------ finding

    def _details(self, device: DeviceDescriptor, **extra: str) -> dict[str, str]:
        details = {"device_id": device.device_id, "backend": str(self._stack.spec), **extra}
        if self._stack.address:
            details["gateway_address"] = self._stack.address
        return details

    async def find(self, device: DeviceDescriptor) -> ImprovAdvertisement:
        """Scan until the device's Improv advertisement is heard.

        Raises:
            BleDeviceNotFound: Not heard within the scan timeout (DEVICE_UNREACHABLE).
            BleRadioUnavailable: The gateway's radio cannot scan.
        """
        match = ImprovDeviceMatch.for_device(device)
        heard: asyncio.Future[ImprovAdvertisement] = asyncio.get_running_loop().create_future()

        def on_advertisement(ble_device: BLEDevice, advertisement: AdvertisementData) -> None:
            if not heard.done() and match.matches(ble_device, advertisement):
                heard.set_result(ImprovAdvertisement.parse(ble_device, advertisement))

        scanner = self._stack.scanner(on_advertisement, [SERVICE_UUID])
        details = self._details(device, match=str(match))
        try:
            await scanner.start()
        except Exception as exc:
            raise ble_failure(
                exc, operation="starting a BLE scan", connected=True, details=details
            ) from exc
        try:
            async with asyncio.timeout(self._scan_timeout):
                return await heard
        except TimeoutError:
            raise BleDeviceNotFound(
                f"no Improv device with {match} advertised within {self._scan_timeout:g} s: "
                "it is out of range, off, or not in set-up mode",
                details={**details, "reason": "not_advertising"},
            ) from None
        finally:
            with contextlib.suppress(Exception):
                await scanner.stop()

    def _found(self, device: DeviceDescriptor, found: ImprovAdvertisement) -> DetectedDevice:
        attributes = {
            "ble_address": found.address,
            "ble_name": found.local_name or "",
            "rssi": str(found.rssi),
            "improv_state": state_name(found.state),
            "capabilities": capability_names(found.capabilities),
        }
        if self._stack.address:
            attributes["gateway_address"] = self._stack.address
        return DetectedDevice(
            device_id=device.device_id,
            provisioned=found.state in (State.PROVISIONING, State.PROVISIONED),
            attributes=attributes,
        )

    async def detect(self, device: DeviceDescriptor) -> DetectedDevice:
        """Find the device by its advertisement alone (no connection)."""
        return self._found(device, await self.find(device))

    @contextlib.asynccontextmanager
    async def session(self, device: DeviceDescriptor) -> AsyncIterator[ImprovSession]:
        """Find the device and hold a connection to it for the block's duration."""
        found = await self.find(device)
        details = self._details(device, ble_address=found.address)
        async with ImprovSession.connect(
            self._stack,
            found,
            subject=f"device '{device.device_id}' ({found.address})",
            details=details,
            timeouts=self._timeouts,
        ) as session:
            sessions = self._sessions.setdefault(device.device_id, set())
            sessions.add(session)
            try:
                yield session
            finally:
                sessions.discard(session)
                if not sessions:
                    self._sessions.pop(device.device_id, None)

    # ------------------------------------------------------------------ operations

    async def read_state(self, device: DeviceDescriptor) -> DetectedDevice:
        """Connect and read capabilities, state, last error and device info."""
        async with self.session(device) as session:
            capabilities = await session.read_capabilities()
            state = await session.read_state()
            error = await session.read_error()
            attributes = {
                "ble_address": session.details["ble_address"],
                "improv_state": state_name(state),
                "improv_error": error.name.lower(),
                "capabilities": capability_names(capabilities),
            }
            if state is State.PROVISIONED:
                # Before the device info command, which replaces the last RPC result.
                url = await session.read_redirect_url()
                if url:
                    attributes["redirect_url"] = url
            model = firmware = ""
            if capabilities & Capabilities.DEVICE_INFO:
                info = await session.device_info()
                model = info.hardware_chip.decode(errors="replace")
                firmware = (
                    f"{info.firmware_name.decode(errors='replace')} "
                    f"{info.firmware_version.decode(errors='replace')}"
                )
                attributes["device_name"] = info.device_name.decode(errors="replace")
        if self._stack.address:
            attributes["gateway_address"] = self._stack.address
        return DetectedDevice(
            device_id=device.device_id,
            model=model,
            firmware=firmware,
            provisioned=state in (State.PROVISIONING, State.PROVISIONED),
            attributes=attributes,
        )

    async def identify(self, device: DeviceDescriptor) -> bool:
        """Ask the device to blink or beep; False when it cannot identify itself."""
        async with self.session(device) as session:
            if not await session.read_capabilities() & Capabilities.IDENTIFY:
                return False
            await session.identify()
        logger.info("device %s: asked to identify itself", device.device_id)
        return True

    async def wait_for_authorization(
        self, device: DeviceDescriptor, timeout: float, heartbeat: Heartbeat | None = None
    ) -> State:
        """Wait until a person authorizes the device (presses its button).

        Returns the device's state, at once when it needs no authorization.

        Raises:
            ImprovAuthorizationTimeout: Not authorized within `timeout` seconds.
        """
        async with self.session(device) as session:
            state = await session.wait_for_authorization(timeout, heartbeat)
        logger.info("device %s: authorized (%s)", device.device_id, state_name(state))
        return state

    async def provision(
        self,
        device: DeviceDescriptor,
        network: NetworkCredentials,
        heartbeat: Heartbeat | None = None,
        timeout: float | None = None,
    ) -> ImprovProvisioning:
        """Hand the device its Wi-Fi credentials and wait until it joined.

        `timeout` bounds the whole call (finding, connecting, waiting for the result);
        by default only the wait for the result is bounded, by the result timeout.

        Check-before-act, so that a retry after a dropped link never provisions twice:
        a device already provisioned, or still joining, is not sent the credentials
        again; its result is awaited or read back.

        Raises:
            CredentialsRejected: It could not join (UNABLE_TO_CONNECT).
            ImprovNotAuthorized: It needs its button pressed first.
            ImprovNoResult: It took the credentials but never reported.
            BleConnectionLost: The link dropped (retryable; the device may be joining).
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout

        def remaining() -> float | None:
            if deadline is None:
                return None
            return max(0.0, min(self._timeouts.result, deadline - loop.time()))

        async with self.session(device) as session:
            state = await session.read_state()
            if state is State.PROVISIONED:
                logger.info("device %s: already provisioned; not resent", device.device_id)
                return ImprovProvisioning(await session.read_redirect_url(), credentials_sent=False)
            if state is State.PROVISIONING:
                logger.info("device %s: still joining; awaiting its result", device.device_id)
                url = await session.await_provisioning(heartbeat, remaining())
                return ImprovProvisioning(url, credentials_sent=False)
            if state is State.AUTHORIZATION_REQUIRED:
                raise ImprovNotAuthorized(
                    f"device '{device.device_id}' requires authorization: press its button",
                    details=session.details,
                )
            url = await session.send_wifi_settings(
                network.ssid, network.passphrase.get_secret_value(), heartbeat, remaining()
            )
        logger.info("device %s: joined %r (redirect %s)", device.device_id, network.ssid, url)
        return ImprovProvisioning(url, credentials_sent=True)

    async def settled_redirect_url(
        self,
        device: DeviceDescriptor,
        heartbeat: Heartbeat | None = None,
        timeout: float | None = None,
    ) -> str | None:
        """Where a device that took credentials answers, once its join has settled.

        For an undo step that does not know whether the credentials reached the device
        (their step was cancelled or its answer lost): a device still joining is waited
        for; a provisioned one gives its redirect URL; any other state gives None.

        Raises:
            BleConnectionLost: The device could not be asked (retryable).
            DeviceUnreachable: It took the credentials and gives no redirect URL: no
                page to reset it through (not retryable: the undo step's leftover).
        """
        async with self.session(device) as session:
            state = await session.read_state()
            if state is State.PROVISIONING:
                url = await session.await_provisioning(heartbeat, timeout)  # it joined
            elif state is State.PROVISIONED:
                url = await session.read_redirect_url()
            else:
                return None
        if not url:
            # Improv has no command to forget credentials: without a web page to reset
            # it through, nothing here can undo the join.
            raise DeviceUnreachable(
                f"device '{device.device_id}' took the credentials and offers no web page "
                "to reset it through: factory-reset it by hand",
                details={"device_id": device.device_id},
                retryable=False,
            )
        return url

    async def release(self, device: DeviceDescriptor) -> int:
        """Drop every connection this gateway holds to the device; return how many."""
        sessions = list(self._sessions.pop(device.device_id, ()))
        for session in sessions:
            await session.close()
        return len(sessions)
