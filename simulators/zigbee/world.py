"""The simulated Zigbee world of one process: devices in range of every gateway, and one
coordinator stick per gateway.

The embedded stack and the tests create it once and hand it to the edge workers of the
process (`worker.capabilities.zigbee`); each gateway takes the stick of its own host name.
"""

from __future__ import annotations

import hashlib
from typing import Any

from zigpy.application import ControllerApplication

from simulators.zigbee.fleet import ZigbeeDeviceFleet
from simulators.zigbee.radio import (
    SimulatedCoordinator,
    SimulatedStick,
    ZigbeeSimulation,
    simulation_config,
)


def stick_ieee_for(host: str) -> str:
    """A stable EUI-64 for the stick of gateway `host` (Texas Instruments' OUI)."""
    tail = hashlib.sha256(f"devprov-stick:{host}".encode()).digest()[:5]
    return ":".join(["00", "12", "4b", *(f"{byte:02x}" for byte in tail)])


class SimulatedZigbeeWorld:
    """Simulated devices plus the coordinator sticks of this process's gateways."""

    def __init__(self, fleet: ZigbeeDeviceFleet | None = None) -> None:
        self.fleet = fleet if fleet is not None else ZigbeeDeviceFleet()
        self.sticks: list[SimulatedStick] = []
        """Every stick handed out, in order (the control API lists them)."""
        self._by_host: dict[str, SimulatedStick] = {}

    def stick_for(self, host: str) -> SimulatedStick:
        """The stick plugged into gateway `host` (the same one on every call)."""
        stick = self._by_host.get(host)
        if stick is None:
            stick = SimulatedStick(ieee=stick_ieee_for(host))
            self._by_host[host] = stick
            self.sticks.append(stick)
        return stick

    def radio_for(self, host: str) -> tuple[type[ControllerApplication], dict[str, Any]]:
        """The simulated coordinator of gateway `host`: its controller class and config."""
        simulation = ZigbeeSimulation(self.fleet, self.stick_for(host))
        return SimulatedCoordinator, simulation_config(simulation)
