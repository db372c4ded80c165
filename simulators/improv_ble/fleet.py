"""Several simulated Improv devices on one virtual BLE radio, and the Wi-Fi networks in range."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType

from adapters.ble.virtual_radio import VirtualBleRadio
from simulators.http_wifi.fleet import DEFAULT_NETWORKS, validate_network
from simulators.improv_ble.device import (
    ImprovDeviceFaults,
    ImprovDeviceSpec,
    SimulatedImprovDevice,
)
from simulators.improv_ble.peripheral import DEFAULT_ADVERTISING_INTERVAL_MS, ImprovPeripheral

logger = logging.getLogger("devprov.simulators.improv_ble")

WEB_PAGE_PATH = "/_sim/ble/devices/{device_id}/http"
"""Where a joined device answers on the control app: its redirect URL points here."""

_FIRST_HOST_NUMBER = 10
_HOST_NUMBERS = 245


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def host_name_for(device_id: str) -> str:
    """The name of a device's host on the virtual radio (distinct from gateway names)."""
    return f"improv:{device_id}"


class ImprovDeviceFleet:
    """Simulated Improv devices, each with its own controller on `radio`.

    Args:
        radio: The process's virtual BLE radio (gateways open their centrals on it too).
        specs: Devices to bring up on `start()`.
        networks: Wi-Fi networks in range (ssid → passphrase); default: the lab network.
        clock: Monotonic seconds; default: the running event loop's clock.
        advertising_interval_ms: Advertising interval of every device.
    """

    def __init__(
        self,
        radio: VirtualBleRadio,
        specs: Iterable[ImprovDeviceSpec] = (),
        *,
        networks: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
        advertising_interval_ms: float = DEFAULT_ADVERTISING_INTERVAL_MS,
    ) -> None:
        self.radio = radio
        self._pending = list(specs)
        self._peripherals: dict[str, ImprovPeripheral] = {}
        self._out_of_range: dict[str, SimulatedImprovDevice] = {}
        self._networks: dict[str, str] = {}
        self._clock = clock or _loop_time
        self._interval = advertising_interval_ms
        self._next_host_number = _FIRST_HOST_NUMBER
        self._http_base_url: str | None = None
        self.replace_networks(DEFAULT_NETWORKS if networks is None else networks)

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

    async def __aenter__(self) -> ImprovDeviceFleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def add(self, spec: ImprovDeviceSpec) -> SimulatedImprovDevice:
        """Power a new device on: it advertises at once."""
        if spec.device_id in self._peripherals:
            raise ValueError(f"device '{spec.device_id}' already exists")
        device = SimulatedImprovDevice(spec, host_number=self._next_host_number, now=self._clock())
        self._next_host_number = _FIRST_HOST_NUMBER + (
            (self._next_host_number - _FIRST_HOST_NUMBER + 1) % _HOST_NUMBERS
        )
        device.redirect_url = self._redirect_url(spec.device_id)
        await self._put_on_air(device)
        return device

    async def _put_on_air(self, device: SimulatedImprovDevice) -> None:
        host = await self.radio.open_host(host_name_for(device.device_id), device.spec.address)
        peripheral = ImprovPeripheral(
            device,
            host,
            networks=lambda: self._networks,
            clock=self._clock,
            advertising_interval_ms=self._interval,
        )
        try:
            await peripheral.start()
        except BaseException:
            await peripheral.close()
            await host.close()
            raise
        self._peripherals[device.device_id] = peripheral

    async def remove(self, device_id: str) -> None:
        """Power a device off: it stops advertising and drops its links."""
        peripheral = self._peripherals.pop(device_id)
        await peripheral.close()
        await peripheral.host.close()

    async def go_out_of_range(self, device_id: str) -> SimulatedImprovDevice:
        """The device leaves radio range: it stops advertising and drops its links but,
        unlike `remove`, keeps its state; `come_into_range` brings it back as it was."""
        peripheral = self._peripherals.pop(device_id)
        self._out_of_range[device_id] = peripheral.device
        await peripheral.close()
        await peripheral.host.close()
        return peripheral.device

    async def come_into_range(self, device_id: str) -> SimulatedImprovDevice:
        """A device taken out of range by `go_out_of_range` advertises again."""
        device = self._out_of_range.pop(device_id)
        await self._put_on_air(device)
        return device

    # ------------------------------------------------------------------ devices

    @property
    def devices(self) -> list[SimulatedImprovDevice]:
        return [peripheral.device for peripheral in self._peripherals.values()]

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._peripherals

    def __getitem__(self, device_id: str) -> SimulatedImprovDevice:
        return self._peripherals[device_id].device

    def get(self, device_id: str) -> SimulatedImprovDevice | None:
        peripheral = self._peripherals.get(device_id)
        return peripheral.device if peripheral else None

    def peripheral(self, device_id: str) -> ImprovPeripheral:
        return self._peripherals[device_id]

    def address_of(self, device_id: str) -> str:
        """The device's BLE address."""
        return self._peripherals[device_id].address

    def now(self) -> float:
        return self._clock()

    def snapshot(self, device_id: str) -> dict[str, object]:
        """Control-API view of one device."""
        peripheral = self._peripherals[device_id]
        return peripheral.device.snapshot(self._clock(), peripheral.address)

    async def press_button(self, device_id: str) -> bool:
        return await self._peripherals[device_id].press_button()

    async def set_faults(self, device_id: str, faults: ImprovDeviceFaults) -> None:
        await self._peripherals[device_id].set_faults(faults)

    async def restore(self, device_id: str) -> None:
        await self._peripherals[device_id].restore()

    async def factory_reset(self, device_id: str) -> None:
        await self._peripherals[device_id].factory_reset()

    # ------------------------------------------------------------------ the world

    def set_http_base_url(self, base_url: str | None) -> None:
        """Where the control app serves the devices' web pages (their redirect URLs)."""
        self._http_base_url = base_url.rstrip("/") if base_url else None
        for device_id, peripheral in self._peripherals.items():
            peripheral.device.redirect_url = self._redirect_url(device_id)

    def _redirect_url(self, device_id: str) -> str | None:
        if self._http_base_url is None:
            return None
        return self._http_base_url + WEB_PAGE_PATH.format(device_id=device_id)

    @property
    def networks(self) -> Mapping[str, str]:
        return dict(self._networks)

    def set_network(self, ssid: str, passphrase: str) -> None:
        validate_network(ssid, passphrase)
        self._networks[ssid] = passphrase

    def replace_networks(self, networks: Mapping[str, str]) -> None:
        for ssid, passphrase in networks.items():
            validate_network(ssid, passphrase)
        self._networks = dict(networks)

    def networks_summary(self) -> list[dict[str, object]]:
        return [
            {"ssid": ssid, "open": passphrase == ""}
            for ssid, passphrase in sorted(self._networks.items())
        ]


def default_improv_specs() -> list[ImprovDeviceSpec]:
    """The simulated Improv devices of the embedded default (`make run`).

    - `improv-plug-desk`: a smart plug without a button, always authorized.
    - `improv-bulb-porch`: a bulb with a button; a person standing by presses it 3 s
      after a gateway connects (press it sooner through the control API, or set
      `person_presses_after` to null to be the one who presses it).
    """
    return [
        ImprovDeviceSpec(
            device_id="improv-plug-desk",
            friendly_name="Desk plug",
            join_delay=1.0,
            faults=ImprovDeviceFaults(auto_authorize=True),
        ),
        ImprovDeviceSpec(
            device_id="improv-bulb-porch",
            friendly_name="Porch bulb",
            join_delay=1.0,
            faults=ImprovDeviceFaults(person_presses_after=3.0),
        ),
    ]
