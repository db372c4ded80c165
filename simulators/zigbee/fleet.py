"""The simulated Zigbee world: devices within range of the simulated coordinator radios.

The fleet holds the devices; radios attach to it while connected and are told when a
device starts looking for a network or leaves one, so they can let it join or tell
zigpy it left.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Protocol

import zigpy.types as t

from simulators.zigbee.device import (
    BASIC,
    IDENTIFY,
    ILLUMINANCE_MEASUREMENT,
    LEVEL_CONTROL,
    OCCUPANCY_SENSING,
    ON_OFF,
    POWER_CONFIGURATION,
    LogicalType,
    NetworkMembership,
    SimulatedEndpoint,
    SimulatedZigbeeDevice,
    ZigbeeDeviceFaults,
)

_FIRST_NWK = 0x0001
_LAST_NWK = 0xFFF7


class FleetObserver(Protocol):
    """A radio that wants to hear about devices starting to pair or leaving."""

    def device_started_pairing(self, device: SimulatedZigbeeDevice) -> None: ...

    def device_left(self, device: SimulatedZigbeeDevice, membership: NetworkMembership) -> None: ...


class ZigbeeDeviceFleet:
    """Simulated Zigbee devices by id, with the radios that can hear them."""

    def __init__(self, devices: Iterable[SimulatedZigbeeDevice] = ()) -> None:
        self._devices: dict[str, SimulatedZigbeeDevice] = {}
        self._observers: list[FleetObserver] = []
        for device in devices:
            self.add(device)

    # ------------------------------------------------------------------ lookup

    @property
    def devices(self) -> list[SimulatedZigbeeDevice]:
        return list(self._devices.values())

    def get(self, device_id: str) -> SimulatedZigbeeDevice | None:
        return self._devices.get(device_id)

    def __getitem__(self, device_id: str) -> SimulatedZigbeeDevice:
        return self._devices[device_id]

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._devices

    def by_ieee(self, ieee: str | t.EUI64) -> SimulatedZigbeeDevice | None:
        wanted = str(t.EUI64.convert(str(ieee)))
        return next((d for d in self._devices.values() if d.ieee == wanted), None)

    def on_network(self, extended_pan_id: str, nwk: int) -> SimulatedZigbeeDevice | None:
        """The device with short address `nwk` on the network `extended_pan_id`."""
        for device in self._devices.values():
            membership = device.network
            if membership and (membership.extended_pan_id, membership.nwk) == (
                extended_pan_id,
                nwk,
            ):
                return device
        return None

    def members_of(self, extended_pan_id: str) -> list[SimulatedZigbeeDevice]:
        return [
            d
            for d in self._devices.values()
            if d.network is not None and d.network.extended_pan_id == extended_pan_id
        ]

    # ------------------------------------------------------------------ changes

    def add(self, device: SimulatedZigbeeDevice) -> SimulatedZigbeeDevice:
        if device.device_id in self._devices:
            raise ValueError(f"device '{device.device_id}' already exists")
        if self.by_ieee(device.ieee) is not None:
            raise ValueError(f"a device with IEEE {device.ieee} already exists")
        self._devices[device.device_id] = device
        self._announce_pairing(device)
        return device

    def remove(self, device_id: str) -> None:
        """Take a device out of the world (it leaves its network first)."""
        self.make_leave(device_id)
        del self._devices[device_id]

    def allocate_nwk(self, device: SimulatedZigbeeDevice, extended_pan_id: str) -> int:
        """A free short address on `extended_pan_id`, stable for a given IEEE."""
        taken = {d.network.nwk for d in self.members_of(extended_pan_id) if d.network}
        span = _LAST_NWK - _FIRST_NWK + 1
        start = int.from_bytes(hashlib.sha256(device.ieee.encode()).digest()[:2], "big") % span
        for offset in range(span):
            nwk = _FIRST_NWK + (start + offset) % span
            if nwk not in taken:
                return nwk
        raise RuntimeError(f"no free short address on network {extended_pan_id}")

    def start_pairing(self, device_id: str) -> SimulatedZigbeeDevice:
        """Power the device on / press its pairing button."""
        device = self._devices[device_id]
        device.start_pairing()
        self._announce_pairing(device)
        return device

    def stop_pairing(self, device_id: str) -> SimulatedZigbeeDevice:
        """Power the device off while it looks for a network (a joined device stays joined)."""
        device = self._devices[device_id]
        device.pairing = False
        return device

    def make_leave(self, device_id: str) -> SimulatedZigbeeDevice:
        """The device leaves its network on its own (no-op when it is on none)."""
        device = self._devices[device_id]
        membership = device.leave(requested=False)
        if membership is not None:
            for observer in list(self._observers):
                observer.device_left(device, membership)
        return device

    def set_faults(self, device_id: str, changes: dict[str, Any]) -> SimulatedZigbeeDevice:
        """Change some fault knobs; raises pydantic's ValidationError for bad values."""
        device = self._devices[device_id]
        device.faults = ZigbeeDeviceFaults.model_validate({**device.faults.model_dump(), **changes})
        self._announce_pairing(device)
        return device

    def reset(self, device_id: str) -> SimulatedZigbeeDevice:
        """Factory-reset one device: it leaves its network and looks for one again."""
        self.make_leave(device_id)
        device = self._devices[device_id]
        device.factory_reset()
        self._announce_pairing(device)
        return device

    def reset_all(self) -> None:
        for device_id in list(self._devices):
            self.reset(device_id)

    # ------------------------------------------------------------------ radios

    def attach(self, observer: FleetObserver) -> None:
        if observer not in self._observers:
            self._observers.append(observer)

    def detach(self, observer: FleetObserver) -> None:
        if observer in self._observers:
            self._observers.remove(observer)

    def _announce_pairing(self, device: SimulatedZigbeeDevice) -> None:
        if device.can_join:
            for observer in list(self._observers):
                observer.device_started_pairing(device)

    def snapshot(self) -> list[dict[str, object]]:
        return [device.snapshot() for device in self._devices.values()]


def color_bulb(device_id: str, ieee: str, **kwargs: Any) -> SimulatedZigbeeDevice:
    """A dimmable white-spectrum bulb (router), IKEA TRADFRI style."""
    return SimulatedZigbeeDevice(
        device_id=device_id,
        ieee=ieee,
        manufacturer=kwargs.pop("manufacturer", "IKEA of Sweden"),
        model=kwargs.pop("model", "TRADFRI bulb E27 WS opal 1000lm"),
        endpoints=(SimulatedEndpoint(1, 0x0102, (BASIC, IDENTIFY, ON_OFF, LEVEL_CONTROL)),),
        logical_type=LogicalType.ROUTER,
        **kwargs,
    )


def smart_plug(device_id: str, ieee: str, **kwargs: Any) -> SimulatedZigbeeDevice:
    """A mains-powered on/off plug (router), SONOFF S26R2ZB style."""
    return SimulatedZigbeeDevice(
        device_id=device_id,
        ieee=ieee,
        manufacturer=kwargs.pop("manufacturer", "SONOFF"),
        model=kwargs.pop("model", "S26R2ZB"),
        endpoints=(SimulatedEndpoint(1, 0x0051, (BASIC, IDENTIFY, ON_OFF)),),
        logical_type=LogicalType.ROUTER,
        **kwargs,
    )


def motion_sensor(device_id: str, ieee: str, **kwargs: Any) -> SimulatedZigbeeDevice:
    """A battery-powered occupancy and illuminance sensor (end device), Aqara style."""
    return SimulatedZigbeeDevice(
        device_id=device_id,
        ieee=ieee,
        manufacturer=kwargs.pop("manufacturer", "LUMI"),
        model=kwargs.pop("model", "lumi.sensor_motion.aq2"),
        endpoints=(
            SimulatedEndpoint(
                1,
                0x0107,
                (BASIC, POWER_CONFIGURATION, IDENTIFY, ILLUMINANCE_MEASUREMENT, OCCUPANCY_SENSING),
            ),
        ),
        logical_type=LogicalType.END_DEVICE,
        **kwargs,
    )


PRODUCTS = {"color_bulb": color_bulb, "smart_plug": smart_plug, "motion_sensor": motion_sensor}
"""Device templates by name, for the control API."""


def default_fleet() -> ZigbeeDeviceFleet:
    """The simulated Zigbee devices of the embedded default (`make run`), all pairing.

    - `zb-bulb-living`: a bulb that joins within a second.
    - `zb-plug-office`: a plug whose first interview fails (it is asked again).
    - `zb-motion-hall`: a battery motion sensor (end device).
    """
    return ZigbeeDeviceFleet(
        [
            color_bulb("zb-bulb-living", "00:17:88:01:0b:1c:2d:01", join_delay=0.5),
            smart_plug(
                "zb-plug-office",
                "00:12:4b:00:25:1c:2d:02",
                join_delay=0.5,
                faults=ZigbeeDeviceFaults(interview_failures=1),
            ),
            motion_sensor("zb-motion-hall", "00:15:8d:00:04:1c:2d:03", join_delay=1.0),
        ]
    )
