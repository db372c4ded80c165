"""Wiring of the `zigbee` family: its edge capability; under `make run`, its simulated
devices, whose world hands each edge worker its simulated coordinator stick."""

from __future__ import annotations

from worker.capabilities.zigbee import SIMULATED_ZIGBEE_RADIOS, zigbee_capability
from worker.families import EmbeddedSimulator, FamilyWiring

WIRING = FamilyWiring(
    edge_capability=zigbee_capability,
    simulator=EmbeddedSimulator(
        start="simulators.zigbee.embedded:simulated_zigbee_devices",
        shares=SIMULATED_ZIGBEE_RADIOS,
    ),
)
