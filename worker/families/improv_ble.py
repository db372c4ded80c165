"""Wiring of the `improv-ble` family: its edge capability; under `make run`, its simulated
devices on a virtual BLE link whose radio the edge workers share."""

from __future__ import annotations

from worker.capabilities.improv_ble import VIRTUAL_BLE_RADIO, improv_ble_capability
from worker.families import EmbeddedSimulator, FamilyWiring

WIRING = FamilyWiring(
    edge_capability=improv_ble_capability,
    simulator=EmbeddedSimulator(
        start="simulators.improv_ble.embedded:simulated_improv_devices",
        shares=VIRTUAL_BLE_RADIO,
    ),
)
