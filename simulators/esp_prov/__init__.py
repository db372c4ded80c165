"""Simulated ESP32 devices running ESP-IDF's Wi-Fi provisioning manager over BLE (bumble)."""

from simulators.esp_prov.device import (
    EspDeviceCounters,
    EspDeviceFaults,
    EspDeviceSpec,
    RequestRefused,
    SimulatedEspDevice,
    Station,
)
from simulators.esp_prov.fleet import EspDeviceFleet
from simulators.esp_prov.peripheral import EspPeripheral

__all__ = [
    "EspDeviceCounters",
    "EspDeviceFaults",
    "EspDeviceFleet",
    "EspDeviceSpec",
    "EspPeripheral",
    "RequestRefused",
    "SimulatedEspDevice",
    "Station",
]
