"""Wiring of the `improv-ble` family: its edge capability."""

from __future__ import annotations

from worker.capabilities.improv_ble import improv_ble_capability
from worker.families import FamilyWiring

WIRING = FamilyWiring(edge_capability=improv_ble_capability)
