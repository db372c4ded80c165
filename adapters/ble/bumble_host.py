"""A bumble `Device` as one BLE radio: the peripheral of a simulated device or a gateway's central.

bumble runs a whole host stack (HCI, L2CAP, ATT/GATT) in Python over a controller: a
virtual one on a `LocalLink` (`VirtualBleRadio`) or a real one behind an HCI transport
(a USB dongle, a serial HCI board).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable

from bumble import hci
from bumble.core import BaseBumbleError, PhysicalTransport
from bumble.device import Advertisement, Connection, Device

logger = logging.getLogger("devprov.adapters.ble")

AdvertisementListener = Callable[[Advertisement], None]
"""Called with every advertisement the radio hears while it scans."""

_CLOSE_TIMEOUT = 2.0

_WIRE_LOGGER = logging.getLogger("bumble")


def keep_wire_logs_quiet() -> None:
    """Keep bumble's loggers at INFO or above.

    At DEBUG bumble logs every HCI and ACL packet in hex: a Wi-Fi passphrase written
    over GATT would reach the logs. Someone debugging the radio can lower the level
    again after the stack is opened.
    """
    if _WIRE_LOGGER.level == logging.NOTSET or _WIRE_LOGGER.level < logging.INFO:
        _WIRE_LOGGER.setLevel(logging.INFO)


def static_address_for(seed: str) -> str:
    """A stable static random address derived from `seed` (e.g. a device id).

    Static random addresses have their two most significant bits set; the rest comes
    from a hash, so a simulated device keeps its address across restarts.
    """
    digest = bytearray(hashlib.sha256(seed.encode()).digest()[:6])
    digest[0] |= 0xC0
    return ":".join(f"{byte:02X}" for byte in digest)


class BumbleHost:
    """A powered-on bumble `Device` and what it takes to shut it down.

    Args:
        device: The device, already powered on.
        name: For logs and messages.
        on_close: Releases what carries the device (its place on a virtual link, an
            HCI transport); called once, last.
    """

    def __init__(
        self,
        device: Device,
        *,
        name: str,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        keep_wire_logs_quiet()
        self.device = device
        self.name = name
        self._on_close = on_close
        self._closed = False

    @property
    def address(self) -> str:
        """The address it advertises and connects with (static random)."""
        return str(self.device.random_address)

    @property
    def closed(self) -> bool:
        return self._closed

    async def disconnect_all(
        self, reason: int = hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR
    ) -> None:
        """Drop every open connection (from this side)."""
        for connection in list(self.device.connections.values()):
            with contextlib.suppress(BaseBumbleError, TimeoutError):
                async with asyncio.timeout(_CLOSE_TIMEOUT):
                    await connection.disconnect(reason)

    async def close(self) -> None:
        """Disconnect, stop advertising and scanning, power off; idempotent."""
        if self._closed:
            return
        self._closed = True
        device = self.device
        try:
            await self.disconnect_all()
            with contextlib.suppress(BaseBumbleError, TimeoutError):
                async with asyncio.timeout(_CLOSE_TIMEOUT):
                    for advertising_set in list(device.extended_advertising_sets.values()):
                        if advertising_set.enabled:
                            await advertising_set.stop()
                    await device.stop_advertising()
                    if device.is_scanning:
                        await device.stop_scanning()
            await device.power_off()
        finally:
            if self._on_close is not None:
                await self._on_close()


class BumbleCentral:
    """A gateway's BLE radio in the central role, shared by all its bleak scanners and clients.

    bumble drives one scan and one pending connection per device at a time; this
    object lets several concurrent activities share them: scanning runs while at least
    one listener wants it, and connection attempts take turns.
    """

    def __init__(self, host: BumbleHost) -> None:
        self.host = host
        self._listeners: list[AdvertisementListener] = []
        self._scan_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._stray_disconnects: set[asyncio.Task[None]] = set()
        host.device.on(Device.EVENT_ADVERTISEMENT, self._dispatch)
        host.device.on(Device.EVENT_CONNECTION, self._on_connection)

    @property
    def device(self) -> Device:
        return self.host.device

    @property
    def address(self) -> str:
        return self.host.address

    def _dispatch(self, advertisement: Advertisement) -> None:
        for listener in list(self._listeners):
            listener(advertisement)

    async def start_listening(self, listener: AdvertisementListener, *, active: bool) -> None:
        """Call `listener` for every advertisement heard until `stop_listening`."""
        async with self._scan_lock:
            self._listeners.append(listener)
            if not self.device.is_scanning:
                await self.device.start_scanning(active=active, filter_duplicates=False)

    async def stop_listening(self, listener: AdvertisementListener) -> None:
        """Stop calling `listener`; scanning stops with the last listener."""
        async with self._scan_lock:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)
            if not self._listeners and self.device.is_scanning and not self.host.closed:
                await self.device.stop_scanning()

    async def connect(self, address: hci.Address, timeout: float) -> Connection:
        """Connect to the peripheral advertising as `address`; attempts take turns.

        Raises:
            TimeoutError: No connection within `timeout` seconds.
            BaseBumbleError: The controller refused or failed the attempt.
        """
        device = self.device
        async with self._connect_lock:
            try:
                async with asyncio.timeout(timeout):
                    return await device.connect(
                        address, transport=PhysicalTransport.LE, timeout=None
                    )
            except TimeoutError:
                # bumble's own timeout waits for the controller to confirm the
                # cancellation, which a virtual controller never does; cancel here and
                # drop the link if the controller establishes it anyway (see below).
                with contextlib.suppress(BaseBumbleError, TimeoutError):
                    async with asyncio.timeout(_CLOSE_TIMEOUT):
                        await device.send_sync_command(
                            hci.HCI_LE_Create_Connection_Cancel_Command()
                        )
                raise

    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.CENTRAL or self._connect_lock.locked():
            return
        # A connection nobody waits for: an attempt that timed out completed later.
        logger.info(
            "%s: dropping a stray connection to %s", self.host.name, connection.peer_address
        )
        task = asyncio.create_task(self._disconnect_stray(connection))
        self._stray_disconnects.add(task)
        task.add_done_callback(self._stray_disconnects.discard)

    @staticmethod
    async def _disconnect_stray(connection: Connection) -> None:
        with contextlib.suppress(BaseBumbleError, TimeoutError):
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await connection.disconnect()

    async def close(self) -> None:
        """Release the radio: every connection drops."""
        self._listeners.clear()
        for task in list(self._stray_disconnects):
            task.cancel()
        await asyncio.gather(*self._stray_disconnects, return_exceptions=True)
        await self.host.close()
