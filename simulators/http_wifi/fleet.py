"""The simulated world: devices in set-up mode and the Wi-Fi networks in their range."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

from simulators.http_wifi.device import DeviceFaults, SimulatedWifiDevice

LAB_NETWORK_SSID = "devprov-lab"
LAB_NETWORK_PASSPHRASE = "correct-horse-battery"
DEFAULT_NETWORKS: Mapping[str, str] = {LAB_NETWORK_SSID: LAB_NETWORK_PASSPHRASE}

_FIRST_HOST_NUMBER = 10
_LAST_HOST_NUMBER = 254


def validate_network(ssid: str, passphrase: str) -> None:
    """Raise `ValueError` unless `ssid`/`passphrase` could be a WPA2 or open network."""
    if not 1 <= len(ssid.encode()) <= 32:
        raise ValueError("ssid must be 1 to 32 bytes")
    if passphrase and not 8 <= len(passphrase) <= 63:
        raise ValueError("passphrase must be 8 to 63 characters, or empty for an open network")


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class WifiDeviceFleet:
    """Devices by id plus the networks they can join (ssid → passphrase).

    Args:
        devices: Devices to start with.
        networks: Networks in range; defaults to the lab network `devprov-lab`.
        clock: Seconds on a monotonic clock; defaults to the running event loop's clock.
    """

    def __init__(
        self,
        devices: Iterable[SimulatedWifiDevice] = (),
        networks: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._devices: dict[str, SimulatedWifiDevice] = {}
        self._networks: dict[str, str] = {}
        self._next_host_number = _FIRST_HOST_NUMBER
        self._clock = clock or _loop_time
        self.replace_networks(DEFAULT_NETWORKS if networks is None else networks)
        for device in devices:
            self.add(device)

    def now(self) -> float:
        """The clock the join state machines run on."""
        return self._clock()

    @property
    def devices(self) -> list[SimulatedWifiDevice]:
        return list(self._devices.values())

    @property
    def networks(self) -> Mapping[str, str]:
        """A read-only view; change networks with `set_network` and friends."""
        return dict(self._networks)

    def get(self, device_id: str) -> SimulatedWifiDevice | None:
        return self._devices.get(device_id)

    def __getitem__(self, device_id: str) -> SimulatedWifiDevice:
        return self._devices[device_id]

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._devices

    def add(self, device: SimulatedWifiDevice) -> SimulatedWifiDevice:
        """Add `device` and give it its own address on the simulated network."""
        if device.device_id in self._devices:
            raise ValueError(f"device '{device.device_id}' already exists")
        device.host_number = self._next_host_number
        span = _LAST_HOST_NUMBER - _FIRST_HOST_NUMBER + 1
        self._next_host_number = _FIRST_HOST_NUMBER + (
            (self._next_host_number - _FIRST_HOST_NUMBER + 1) % span
        )
        self._devices[device.device_id] = device
        return device

    def remove(self, device_id: str) -> None:
        """Remove a device; its RPC address answers 404 from then on."""
        del self._devices[device_id]

    def set_network(self, ssid: str, passphrase: str) -> None:
        """Add a network in range, or change its passphrase ("" for an open network)."""
        validate_network(ssid, passphrase)
        self._networks[ssid] = passphrase

    def remove_network(self, ssid: str) -> None:
        del self._networks[ssid]

    def replace_networks(self, networks: Mapping[str, str]) -> None:
        """Make `networks` the only networks in range."""
        for ssid, passphrase in networks.items():
            validate_network(ssid, passphrase)
        self._networks = dict(networks)

    def snapshot(self, device: SimulatedWifiDevice) -> dict[str, object]:
        """Control-API view of `device` at the current time."""
        return device.snapshot(self.now(), self._networks)

    def networks_summary(self) -> list[dict[str, object]]:
        """The networks without their passphrases."""
        return [
            {"ssid": ssid, "open": passphrase == ""}
            for ssid, passphrase in sorted(self._networks.items())
        ]


LINE_DEVICES = 100


def default_fleet(clock: Callable[[], float] | None = None) -> WifiDeviceFleet:
    """The simulated devices of the embedded default (`make run`).

    - `shelly-plus1-kitchen`: joins in about a second.
    - `shelly-plus1-garage`: weak signal, joins 3 s later than the others.
    - `shelly-pro4-lab`: a Pro 4PM (model `SPSW-004PE16EU`).
    - `acme-hub-lobby`: a hub that must also be registered with its vendor cloud
      (the composite `wifi-cloud` strategy; the simulated cloud plays its check-in).
    - `line-plug-000` … `line-plug-099`: a production line's worth of plugs for
      `examples/fleets/line-100.json`; every tenth one (`line-plug-009`, `-019`, …)
      never joins, so a fleet run shows failures with their codes and rollbacks.
    """
    line = [
        SimulatedWifiDevice(
            f"line-plug-{n:03d}",
            faults=DeviceFaults(never_joins=True) if n % 10 == 9 else DeviceFaults(),
        )
        for n in range(LINE_DEVICES)
    ]
    return WifiDeviceFleet(
        [
            SimulatedWifiDevice("shelly-plus1-kitchen"),
            SimulatedWifiDevice("shelly-plus1-garage", faults=DeviceFaults(slow_join=3.0)),
            SimulatedWifiDevice("shelly-pro4-lab", model="SPSW-004PE16EU"),
            SimulatedWifiDevice("acme-hub-lobby", model="ACME-HUB-2"),
            *line,
        ],
        clock=clock,
    )
