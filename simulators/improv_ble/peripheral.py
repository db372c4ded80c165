"""A simulated Improv device on the air: a bumble GATT server that advertises the service.

Binds a `SimulatedImprovDevice` to a bumble host: the Improv GATT service (its
characteristics read the device's current values, the RPC command characteristic
feeds it), an extended advertisement with the Improv service UUID, service data and
local name, notifications and advertising updates for every change, timers for the
changes that happen by themselves (authorization expiry, joining the network), and
the faults that live below the protocol (a dropped link, a GATT server that stops
answering).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from bumble import hci
from bumble.core import UUID, AdvertisingData, BaseBumbleError
from bumble.device import (
    AdvertisingEventProperties,
    AdvertisingParameters,
    AdvertisingSet,
    Connection,
    Device,
)
from bumble.gatt import Characteristic, CharacteristicValue, Service
from improv_ble_client.protocol import (
    CHARACTERISTIC_UUID_CAPABILITIES,
    CHARACTERISTIC_UUID_ERROR,
    CHARACTERISTIC_UUID_RPC_COMMAND,
    CHARACTERISTIC_UUID_RPC_RESULT,
    CHARACTERISTIC_UUID_STATE,
    SERVICE_DATA_UUID,
    SERVICE_UUID,
)

from adapters.ble.bumble_host import BumbleHost
from simulators.improv_ble.device import (
    DropLink,
    ImprovDeviceFaults,
    NotifiedCharacteristic,
    Notify,
    Readvertise,
    RpcFrameAssembler,
    SimulatedImprovDevice,
)

logger = logging.getLogger("devprov.simulators.improv_ble")

Clock = Callable[[], float]

DEFAULT_ADVERTISING_INTERVAL_MS = 20.0
"""Fast advertising, so gateways find a device within a short scan window."""

_DISCOVERABLE_FLAGS = bytes(
    [AdvertisingData.LE_GENERAL_DISCOVERABLE_MODE_FLAG | AdvertisingData.BR_EDR_NOT_SUPPORTED_FLAG]
)
# The service data UUID is a 16-bit one (0x4677) written in its 128-bit form.
_SERVICE_DATA_UUID_16 = UUID.from_16_bits(int(SERVICE_DATA_UUID[4:8], 16)).to_bytes()
_OPERATION_TIMEOUT = 2.0


class ImprovPeripheral:
    """One simulated Improv device on a bumble host; `start()`, then `close()`.

    Args:
        device: The device's state machine.
        host: A powered-on bumble host for it (its own controller on the link).
        networks: The Wi-Fi networks in range now (ssid → passphrase).
        clock: The monotonic clock of the device's state machine (the loop's time).
        advertising_interval_ms: Time between two advertisements.
    """

    def __init__(
        self,
        device: SimulatedImprovDevice,
        host: BumbleHost,
        *,
        networks: Callable[[], Mapping[str, str]],
        clock: Clock,
        advertising_interval_ms: float = DEFAULT_ADVERTISING_INTERVAL_MS,
    ) -> None:
        self.device = device
        self.host = host
        self._networks = networks
        self._clock = clock
        self._interval = advertising_interval_ms
        self._characteristics: dict[NotifiedCharacteristic, Characteristic[bytes]] = {}
        self._assemblers: dict[int, RpcFrameAssembler] = {}
        self._advertising: AdvertisingSet | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._flush_lock = asyncio.Lock()
        self._responsive = asyncio.Event()
        self._closed = False
        self._sync_responsiveness()

    @property
    def address(self) -> str:
        return self.host.address

    @property
    def bumble_device(self) -> Device:
        return self.host.device

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Publish the GATT service and start advertising."""
        bumble_device = self.bumble_device
        bumble_device.add_service(self._service())
        bumble_device.on(Device.EVENT_CONNECTION, self._on_connection)
        self._advertising = await bumble_device.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                advertising_event_properties=AdvertisingEventProperties(
                    is_connectable=True, is_scannable=False, is_legacy=False
                ),
                primary_advertising_interval_min=self._interval,
                primary_advertising_interval_max=self._interval,
            ),
            advertising_data=self._advertising_data(),
            auto_restart=True,
        )
        self.device.drain_effects()
        self._schedule_timer()
        logger.info(
            "simulated Improv device %s advertising as %s (%s)",
            self.device.device_id,
            self.device.local_name,
            self.address,
        )

    async def close(self) -> None:
        """Stop timers and pending work; the host itself is closed by its radio."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        # Let requests held by an unresponsive GATT server finish.
        self._responsive.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ GATT

    def _service(self) -> Service:
        missing = self.device.spec.missing_characteristics
        characteristics: list[Characteristic[bytes]] = []
        read_notify = Characteristic.Properties.READ | Characteristic.Properties.NOTIFY
        if "capabilities" not in missing:
            characteristics.append(
                Characteristic(
                    CHARACTERISTIC_UUID_CAPABILITIES,
                    Characteristic.Properties.READ,
                    Characteristic.READABLE,
                    CharacteristicValue(
                        read=self._reader(lambda: bytes([self.device.capabilities]))
                    ),
                )
            )
        readable: list[tuple[NotifiedCharacteristic, str, Callable[[], bytes]]] = [
            ("state", CHARACTERISTIC_UUID_STATE, lambda: bytes([self.device.state])),
            ("error", CHARACTERISTIC_UUID_ERROR, lambda: bytes([self.device.error])),
            ("rpc_result", CHARACTERISTIC_UUID_RPC_RESULT, lambda: self.device.rpc_result),
        ]
        for name, uuid, value in readable:
            if name in missing:
                continue
            characteristic: Characteristic[bytes] = Characteristic(
                uuid,
                read_notify,
                Characteristic.READABLE,
                CharacteristicValue(read=self._reader(value)),
            )
            self._characteristics[name] = characteristic
            characteristics.append(characteristic)
        if "rpc_command" not in missing:
            characteristics.append(
                Characteristic(
                    CHARACTERISTIC_UUID_RPC_COMMAND,
                    Characteristic.Properties.WRITE
                    | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
                    Characteristic.WRITEABLE,
                    CharacteristicValue(write=self._on_rpc_write),
                )
            )
        return Service(SERVICE_UUID, characteristics)

    def _reader(self, value: Callable[[], bytes]) -> Callable[[Connection], Awaitable[bytes]]:
        async def read(_: Connection) -> bytes:
            await self._responsive.wait()
            return value()

        return read

    async def _on_rpc_write(self, connection: Connection, data: bytes) -> None:
        await self._responsive.wait()
        if self._closed:
            return
        assembler = self._assemblers.setdefault(connection.handle, RpcFrameAssembler())
        for frame in assembler.feed(bytes(data)):
            self.device.handle_rpc(frame, self._clock())
            await self._flush()

    def _sync_responsiveness(self) -> None:
        if self.device.faults.gatt_unresponsive and not self._closed:
            self._responsive.clear()
        else:
            self._responsive.set()

    # ------------------------------------------------------------------ connections

    def _on_connection(self, connection: Connection) -> None:
        self.device.record_connection(str(connection.peer_address), self._clock())
        self._schedule_timer()
        handle = connection.handle

        def on_disconnection(_: int) -> None:
            self._assemblers.pop(handle, None)

        connection.on(Connection.EVENT_DISCONNECTION, on_disconnection)

    # ------------------------------------------------------------------ effects

    def _advertising_data(self) -> bytes:
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.Type.FLAGS, _DISCOVERABLE_FLAGS),
                    (
                        AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        UUID(SERVICE_UUID).to_bytes(),
                    ),
                    (
                        AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
                        _SERVICE_DATA_UUID_16 + self.device.service_data(),
                    ),
                    (AdvertisingData.Type.COMPLETE_LOCAL_NAME, self.device.local_name.encode()),
                ]
            )
        )

    async def _flush(self) -> None:
        """Apply the device's queued effects: drop the link first, then publish."""
        async with self._flush_lock:
            effects = self.device.drain_effects()
            if any(isinstance(effect, DropLink) for effect in effects):
                logger.info(
                    "simulated Improv device %s: dropping its BLE link", self.device.device_id
                )
                await self.host.disconnect_all(hci.HCI_CONNECTION_TIMEOUT_ERROR)
            readvertise = False
            for effect in effects:
                if isinstance(effect, Notify):
                    characteristic = self._characteristics.get(effect.characteristic)
                    if characteristic is not None:
                        with contextlib.suppress(BaseBumbleError, TimeoutError):
                            async with asyncio.timeout(_OPERATION_TIMEOUT):
                                await self.bumble_device.notify_subscribers(
                                    characteristic, effect.value
                                )
                elif isinstance(effect, Readvertise):
                    readvertise = True
            if readvertise and self._advertising is not None and not self.host.closed:
                with contextlib.suppress(BaseBumbleError, TimeoutError):
                    async with asyncio.timeout(_OPERATION_TIMEOUT):
                        await self._advertising.set_advertising_data(self._advertising_data())
            self._schedule_timer()

    def _schedule_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.device.next_deadline()
        if deadline is None or self._closed:
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, deadline - self._clock()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.device.tick(self._clock(), self._networks())
        self._spawn_flush()

    def _spawn_flush(self) -> None:
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ control

    async def press_button(self) -> bool:
        """A person presses the device's button."""
        accepted = self.device.press_button(self._clock())
        await self._flush()
        return accepted

    async def set_faults(self, faults: ImprovDeviceFaults) -> None:
        self.device.set_faults(faults, self._clock())
        self._sync_responsiveness()
        await self._flush()

    async def restore(self) -> None:
        """Back to its initial state and knobs, counters zeroed."""
        self.device.restore(self._clock())
        self._sync_responsiveness()
        await self._flush()

    async def factory_reset(self) -> None:
        """Forget the network; the Improv service starts again."""
        self.device.factory_reset(self._clock())
        await self._flush()
