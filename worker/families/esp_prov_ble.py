"""Wiring of the `esp-prov-ble` family: its edge capability; under `make run`, simulated
ESP32s on a virtual BLE link whose radio the edge workers share."""

from __future__ import annotations

from worker.capabilities.esp_prov_ble import VIRTUAL_ESP_RADIO, esp_prov_ble_capability
from worker.families import EmbeddedSimulator, FamilyWiring

WIRING = FamilyWiring(
    edge_capability=esp_prov_ble_capability,
    simulator=EmbeddedSimulator(
        start="simulators.esp_prov.embedded:simulated_esp_devices",
        shares=VIRTUAL_ESP_RADIO,
    ),
)
