"""Several simulated ESP32 devices on one virtual BLE radio, and the Wi-Fi networks in range."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType

from adapters.ble.virtual_radio import VirtualBleRadio
from simulators.esp_prov.device import EspDeviceSpec, SimulatedEspDevice
from simulators.esp_prov.peripheral import EspPeripheral
from simulators.http_wifi.fleet import DEFAULT_NETWORKS

_FIRST_HOST_NUMBER = 10


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def host_name_for(device_id: str) -> str:
    """The name of a device's host on the virtual radio (distinct from gateway names)."""
    return f"esp:{device_id}"


class EspDeviceFleet:
    """Simulated ESP32 devices in provisioning mode, each with its own controller.

    Args:
        radio: The process's virtual BLE radio.
        specs: Devices to bring up on `start()`.
        networks: Wi-Fi networks in range (ssid → passphrase); default: the lab network.
        clock: Monotonic seconds; default: the running loop's clock.
    """

    def __init__(
        self,
        radio: VirtualBleRadio,
        specs: Iterable[EspDeviceSpec] = (),
        *,
        networks: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.radio = radio
        self._pending = list(specs)
        self._peripherals: dict[str, EspPeripheral] = {}
        self.networks = dict(DEFAULT_NETWORKS if networks is None else networks)
        self._clock = clock or _loop_time
        self._next_host_number = _FIRST_HOST_NUMBER

    async def start(self) -> None:
        pending, self._pending = self._pending, []
        for spec in pending:
            await self.add(spec)

    async def close(self) -> None:
        for device_id in list(self._peripherals):
            await self.remove(device_id)

    async def __aenter__(self) -> EspDeviceFleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def add(self, spec: EspDeviceSpec) -> SimulatedEspDevice:
        """Power a device on in provisioning mode: it advertises at once."""
        if spec.device_id in self._peripherals:
            raise ValueError(f"device '{spec.device_id}' already exists")
        device = SimulatedEspDevice(spec, host_number=self._next_host_number)
        self._next_host_number += 1
        device.networks = self.networks
        host = await self.radio.open_host(host_name_for(spec.device_id), spec.address)
        peripheral = EspPeripheral(device, host, clock=self._clock)
        try:
            await peripheral.start()
        except BaseException:
            await peripheral.close()
            await host.close()
            raise
        self._peripherals[spec.device_id] = peripheral
        return device

    async def remove(self, device_id: str) -> None:
        """Power a device off: it stops advertising and drops its links."""
        peripheral = self._peripherals.pop(device_id)
        await peripheral.close()
        await peripheral.host.close()

    def __getitem__(self, device_id: str) -> SimulatedEspDevice:
        return self._peripherals[device_id].device

    def peripheral(self, device_id: str) -> EspPeripheral:
        return self._peripherals[device_id]

    def address_of(self, device_id: str) -> str:
        return self._peripherals[device_id].address
