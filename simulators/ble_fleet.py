"""What every fleet of simulated BLE devices shares: each device a bumble host of its own
on one virtual radio, powered on and off, taken out of range and back.

A family's fleet (`simulators.improv_ble.fleet`, `simulators.esp_prov.fleet`) says how
to make one of its devices from its spec and how to put it on the air; the rest is here.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from adapters.ble.bumble_host import BumbleHost
from adapters.ble.virtual_radio import VirtualBleRadio

FIRST_HOST_NUMBER = 10
"""The last IPv4 octet of the first device to join (10.77.0.10)."""
HOST_NUMBERS = 245
"""Host numbers are handed out in turn, 10 to 254, then from 10 again."""


class BleDeviceSpec(Protocol):
    """What a fleet needs of a device's spec."""

    @property
    def device_id(self) -> str: ...

    @property
    def address(self) -> str | None: ...


class SimulatedBleDevice(Protocol):
    """What a fleet needs of a device."""

    @property
    def device_id(self) -> str: ...

    @property
    def spec(self) -> BleDeviceSpec: ...


DeviceT = TypeVar("DeviceT", bound=SimulatedBleDevice)
DeviceT_co = TypeVar("DeviceT_co", bound=SimulatedBleDevice, covariant=True)
SpecT = TypeVar("SpecT", bound=BleDeviceSpec)


class BlePeripheral(Protocol[DeviceT_co]):
    """A device on the air: a GATT server on its own bumble host."""

    @property
    def device(self) -> DeviceT_co: ...

    @property
    def host(self) -> BumbleHost: ...

    @property
    def address(self) -> str: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


PeripheralT = TypeVar("PeripheralT", bound=BlePeripheral[SimulatedBleDevice])


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class BleDeviceFleet(ABC, Generic[SpecT, DeviceT, PeripheralT]):
    """Simulated BLE devices, each with its own controller on `radio`.

    Args:
        radio: The process's virtual BLE radio (gateways open their centrals on it too).
        specs: Devices to bring up on `start()`.
        clock: Monotonic seconds; default: the running event loop's clock.
    """

    host_prefix: str
    """Names the devices' hosts on the radio (`<prefix>:<device id>`), apart from gateways."""

    def __init__(
        self,
        radio: VirtualBleRadio,
        specs: Iterable[SpecT] = (),
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.radio = radio
        self._pending = list(specs)
        self._peripherals: dict[str, PeripheralT] = {}
        self._on_air: dict[str, DeviceT] = {}
        """The device of each peripheral (the same object as its `device`)."""
        self._out_of_range: dict[str, DeviceT] = {}
        self._clock = clock or _loop_time
        self._next_host_number = FIRST_HOST_NUMBER

    @abstractmethod
    def _new_device(self, spec: SpecT, host_number: int) -> DeviceT:
        """A device of the family, as it is when powered on."""

    @abstractmethod
    def _peripheral(self, device: DeviceT, host: BumbleHost) -> PeripheralT:
        """The device's GATT server on `host` (not started)."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bring up the devices given to the constructor."""
        pending, self._pending = self._pending, []
        for spec in pending:
            await self.add(spec)

    async def close(self) -> None:
        """Take every device off the air."""
        for device_id in list(self._peripherals):
            await self.remove(device_id)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def host_name_for(self, device_id: str) -> str:
        """The name of a device's host on the virtual radio."""
        return f"{self.host_prefix}:{device_id}"

    async def add(self, spec: SpecT) -> DeviceT:
        """Power a new device on: it advertises at once."""
        if spec.device_id in self._peripherals or spec.device_id in self._out_of_range:
            raise ValueError(f"device '{spec.device_id}' already exists")
        device = self._new_device(spec, self._next_host_number)
        self._next_host_number = FIRST_HOST_NUMBER + (
            (self._next_host_number - FIRST_HOST_NUMBER + 1) % HOST_NUMBERS
        )
        await self._put_on_air(device)
        return device

    async def _put_on_air(self, device: DeviceT) -> None:
        host = await self.radio.open_host(self.host_name_for(device.device_id), device.spec.address)
        peripheral = self._peripheral(device, host)
        try:
            await peripheral.start()
        except BaseException:
            await peripheral.close()
            await host.close()
            raise
        self._peripherals[device.device_id] = peripheral
        self._on_air[device.device_id] = device

    async def remove(self, device_id: str) -> None:
        """Power a device off: it stops advertising and drops its links."""
        peripheral = self._peripherals.pop(device_id)
        del self._on_air[device_id]
        await peripheral.close()
        await peripheral.host.close()

    async def go_out_of_range(self, device_id: str) -> DeviceT:
        """The device leaves radio range: it stops advertising and drops its links but,
        unlike `remove`, keeps its state; `come_into_range` brings it back as it was."""
        peripheral = self._peripherals.pop(device_id)
        device = self._out_of_range[device_id] = self._on_air.pop(device_id)
        await peripheral.close()
        await peripheral.host.close()
        return device

    async def come_into_range(self, device_id: str) -> DeviceT:
        """A device taken out of range by `go_out_of_range` advertises again."""
        device = self._out_of_range.pop(device_id)
        await self._put_on_air(device)
        return device

    # ------------------------------------------------------------------ devices

    @property
    def devices(self) -> list[DeviceT]:
        return list(self._on_air.values())

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._peripherals

    def __getitem__(self, device_id: str) -> DeviceT:
        return self._on_air[device_id]

    def get(self, device_id: str) -> DeviceT | None:
        return self._on_air.get(device_id)

    @property
    def out_of_range(self) -> Mapping[str, DeviceT]:
        """The devices `go_out_of_range` took away, by device id."""
        return dict(self._out_of_range)

    def peripheral(self, device_id: str) -> PeripheralT:
        return self._peripherals[device_id]

    def address_of(self, device_id: str) -> str:
        """The device's BLE address."""
        return self._peripherals[device_id].address

    def now(self) -> float:
        return self._clock()
