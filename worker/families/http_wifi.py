"""Wiring of the `http-wifi` family: its edge capability; under `make run`, its simulated
devices behind one HTTP server (the gateway reaches them by their address)."""

from __future__ import annotations

from worker.capabilities.http_wifi import http_wifi_capability
from worker.families import EmbeddedSimulator, FamilyWiring

WIRING = FamilyWiring(
    edge_capability=http_wifi_capability,
    simulator=EmbeddedSimulator(start="simulators.http_wifi.embedded:simulated_wifi_devices"),
)
