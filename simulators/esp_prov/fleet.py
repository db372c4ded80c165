"""Several simulated ESP32 devices on one virtual BLE radio, and the Wi-Fi networks in range."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from adapters.ble.bumble_host import BumbleHost
from adapters.ble.virtual_radio import VirtualBleRadio
from simulators.ble_fleet import BleDeviceFleet
from simulators.esp_prov.device import EspDeviceSpec, SimulatedEspDevice
from simulators.esp_prov.peripheral import EspPeripheral
from simulators.http_wifi.fleet import DEFAULT_NETWORKS

HOST_PREFIX = "esp"


def host_name_for(device_id: str) -> str:
    """The name of a device's host on the virtual radio (distinct from gateway names)."""
    return f"{HOST_PREFIX}:{device_id}"


class EspDeviceFleet(BleDeviceFleet[EspDeviceSpec, SimulatedEspDevice, EspPeripheral]):
    """Simulated ESP32 devices in provisioning mode, each with its own controller.

    Args:
        radio: The process's virtual BLE radio.
        specs: Devices to bring up on `start()`.
        networks: Wi-Fi networks in range (ssid → passphrase); default: the lab network.
        clock: Monotonic seconds; default: the running loop's clock.
    """

    host_prefix = HOST_PREFIX

    def __init__(
        self,
        radio: VirtualBleRadio,
        specs: Iterable[EspDeviceSpec] = (),
        *,
        networks: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(radio, specs, clock=clock)
        self.networks = dict(DEFAULT_NETWORKS if networks is None else networks)

    def _new_device(self, spec: EspDeviceSpec, host_number: int) -> SimulatedEspDevice:
        device = SimulatedEspDevice(spec, host_number=host_number)
        device.networks = self.networks
        return device

    def _peripheral(self, device: SimulatedEspDevice, host: BumbleHost) -> EspPeripheral:
        return EspPeripheral(device, host, clock=self._clock)
