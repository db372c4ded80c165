"""Wiring of the `zigbee` family: its edge capability."""

from __future__ import annotations

from worker.capabilities.zigbee import zigbee_capability
from worker.families import FamilyWiring

WIRING = FamilyWiring(edge_capability=zigbee_capability)
