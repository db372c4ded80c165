"""A simulated ESP32 on the air: a bumble GATT server with the provisioning service.

One characteristic per protocomm endpoint, readable and writable, each with a
Characteristic User Description naming its endpoint, at the UUIDs ESP-IDF derives
from the service UUID. A write runs the request; the response waits in the
characteristic, per connection, for the read that follows (ESP-IDF's BLE transport
works the same way). A request the device refuses is answered with an ATT error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bumble import hci
from bumble.att import ATT_Error
from bumble.att import ErrorCode as AttErrorCode
from bumble.core import UUID, AdvertisingData, BaseBumbleError
from bumble.device import (
    AdvertisingEventProperties,
    AdvertisingParameters,
    AdvertisingSet,
    Connection,
    Device,
)
from bumble.gatt import (
    GATT_CHARACTERISTIC_USER_DESCRIPTION_DESCRIPTOR,
    Characteristic,
    CharacteristicValue,
    Descriptor,
    Service,
)

from adapters.ble.bumble_host import BumbleHost
from adapters.esp_prov.protocol import Endpoint, endpoint_uuid
from simulators.esp_prov.device import RequestRefused, SimulatedEspDevice

logger = logging.getLogger("devprov.simulators.esp_prov")

ADVERTISING_INTERVAL_MS = 20.0

_DISCOVERABLE_FLAGS = bytes(
    [AdvertisingData.LE_GENERAL_DISCOVERABLE_MODE_FLAG | AdvertisingData.BR_EDR_NOT_SUPPORTED_FLAG]
)


class EspPeripheral:
    """One simulated device on a bumble host; `start()`, then `close()`.

    Args:
        device: The device's protocol state machine.
        host: A powered-on bumble host for it.
        clock: Monotonic seconds (the loop's time).
    """

    def __init__(
        self, device: SimulatedEspDevice, host: BumbleHost, *, clock: Callable[[], float]
    ) -> None:
        self.device = device
        self.host = host
        self._clock = clock
        self._responses: dict[tuple[int, str], bytes] = {}
        self._advertising: AdvertisingSet | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.stopped = False
        """Provisioning ended (auto-stop): no advertising, no connections."""

    @property
    def address(self) -> str:
        return self.host.address

    async def start(self) -> None:
        bumble_device = self.host.device
        bumble_device.add_service(self._service())
        bumble_device.on(Device.EVENT_CONNECTION, self._on_connection)
        self._advertising = await bumble_device.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                advertising_event_properties=AdvertisingEventProperties(
                    is_connectable=True, is_scannable=False, is_legacy=False
                ),
                primary_advertising_interval_min=ADVERTISING_INTERVAL_MS,
                primary_advertising_interval_max=ADVERTISING_INTERVAL_MS,
            ),
            advertising_data=self._advertising_data(),
            auto_restart=True,
        )
        logger.info(
            "simulated ESP32 %s advertising as %s (%s)",
            self.device.device_id,
            self.device.local_name,
            self.address,
        )

    async def close(self) -> None:
        """Stop timers and pending work; the host itself is closed by its radio."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._responses.clear()

    # ------------------------------------------------------------------ time

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.device.next_deadline()
        if deadline is None or self.stopped:
            return
        delay = max(0.0, deadline - self._clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = self._clock()
        self.device.tick(now)
        ends_at = self.device.provisioning_ends_at
        if ends_at is not None and now >= ends_at and not self.stopped:
            task = asyncio.get_running_loop().create_task(self._stop_provisioning())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        self._schedule()

    async def _stop_provisioning(self) -> None:
        """ESP-IDF's auto-stop: the BLE provisioning service goes away."""
        self.stopped = True
        logger.info("simulated ESP32 %s: provisioning ended", self.device.device_id)
        with contextlib.suppress(BaseBumbleError, TimeoutError):
            async with asyncio.timeout(2.0):
                if self._advertising is not None:
                    self._advertising.auto_restart = False
                    await self._advertising.stop()
                await self.host.disconnect_all(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)

    def _advertising_data(self) -> bytes:
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.Type.FLAGS, _DISCOVERABLE_FLAGS),
                    (
                        AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        UUID(self.device.spec.service_uuid).to_bytes(),
                    ),
                    (AdvertisingData.Type.COMPLETE_LOCAL_NAME, self.device.local_name.encode()),
                ]
            )
        )

    def _service(self) -> Service:
        service_uuid = self.device.spec.service_uuid
        characteristics: list[Characteristic[bytes]] = []
        for endpoint in Endpoint:
            if endpoint.value in self.device.spec.missing_endpoints:
                continue
            characteristics.append(
                Characteristic(
                    endpoint_uuid(service_uuid, endpoint.short_uuid),
                    Characteristic.Properties.READ | Characteristic.Properties.WRITE,
                    Characteristic.READABLE | Characteristic.WRITEABLE,
                    CharacteristicValue(read=self._reader(endpoint), write=self._writer(endpoint)),
                    descriptors=[
                        Descriptor(
                            GATT_CHARACTERISTIC_USER_DESCRIPTION_DESCRIPTOR,
                            Descriptor.READABLE,
                            endpoint.value.encode(),
                        )
                    ],
                )
            )
        return Service(service_uuid, characteristics)

    def _reader(self, endpoint: Endpoint) -> Callable[[Connection], bytes]:
        def read(connection: Connection) -> bytes:
            return self._responses.get((connection.handle, endpoint.value), b"")

        return read

    def _writer(self, endpoint: Endpoint) -> Callable[[Connection, bytes], None]:
        def write(connection: Connection, data: bytes) -> None:
            key = (connection.handle, endpoint.value)
            self._responses.pop(key, None)
            try:
                response = self.device.handle(
                    connection.handle, endpoint.value, bytes(data), self._clock()
                )
            except RequestRefused as refused:
                logger.info(
                    "simulated ESP32 %s refused a request on %s: %s",
                    self.device.device_id,
                    endpoint.value,
                    refused,
                )
                raise ATT_Error(AttErrorCode.UNLIKELY_ERROR) from None
            self._responses[key] = response
            self._schedule()

        return write

    def _on_connection(self, connection: Connection) -> None:
        handle = connection.handle
        self.device.connected(handle)

        def on_disconnection(_: int) -> None:
            self.device.disconnected(handle)
            for key in [key for key in self._responses if key[0] == handle]:
                del self._responses[key]

        connection.on(Connection.EVENT_DISCONNECTION, on_disconnection)
