"""Several simulated Improv devices on one virtual BLE radio, and the Wi-Fi networks in range."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from adapters.ble.bumble_host import BumbleHost
from adapters.ble.virtual_radio import VirtualBleRadio
from simulators.ble_fleet import BleDeviceFleet
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

HOST_PREFIX = "improv"


def host_name_for(device_id: str) -> str:
    """The name of a device's host on the virtual radio (distinct from gateway names)."""
    return f"{HOST_PREFIX}:{device_id}"


class ImprovDeviceFleet(BleDeviceFleet[ImprovDeviceSpec, SimulatedImprovDevice, ImprovPeripheral]):
    """Simulated Improv devices, each with its own controller on `radio`.

    Args:
        radio: The process's virtual BLE radio (gateways open their centrals on it too).
        specs: Devices to bring up on `start()`.
        networks: Wi-Fi networks in range (ssid → passphrase); default: the lab network.
        clock: Monotonic seconds; default: the running event loop's clock.
        advertising_interval_ms: Advertising interval of every device.
    """

    host_prefix = HOST_PREFIX

    def __init__(
        self,
        radio: VirtualBleRadio,
        specs: Iterable[ImprovDeviceSpec] = (),
        *,
        networks: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
        advertising_interval_ms: float = DEFAULT_ADVERTISING_INTERVAL_MS,
    ) -> None:
        super().__init__(radio, specs, clock=clock)
        self._networks: dict[str, str] = {}
        self._interval = advertising_interval_ms
        self._http_base_url: str | None = None
        self.replace_networks(DEFAULT_NETWORKS if networks is None else networks)

    def _new_device(self, spec: ImprovDeviceSpec, host_number: int) -> SimulatedImprovDevice:
        device = SimulatedImprovDevice(spec, host_number=host_number, now=self._clock())
        device.redirect_url = self._redirect_url(spec.device_id)
        return device

    def _peripheral(self, device: SimulatedImprovDevice, host: BumbleHost) -> ImprovPeripheral:
        return ImprovPeripheral(
            device,
            host,
            networks=lambda: self._networks,
            clock=self._clock,
            advertising_interval_ms=self._interval,
        )

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
