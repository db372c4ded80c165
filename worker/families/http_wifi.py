"""Wiring of the `http-wifi` family: its edge capability."""

from __future__ import annotations

from worker.capabilities.http_wifi import http_wifi_capability
from worker.families import FamilyWiring

WIRING = FamilyWiring(edge_capability=http_wifi_capability)
