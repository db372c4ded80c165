"""Simulated Wi-Fi devices in set-up mode with a local HTTP RPC API (Shelly Gen2 style).

See docs/simulators.md for the wire protocol, the control API and the fault knobs.
"""

from simulators.http_wifi.app import create_simulator_app
from simulators.http_wifi.app_keys import FLEET_KEY
from simulators.http_wifi.device import (
    ClientIdentity,
    DeviceCounters,
    DeviceFaults,
    JoinFailure,
    JoinStatus,
    SimulatedWifiDevice,
    StaConfig,
    WifiStatus,
)
from simulators.http_wifi.fleet import (
    DEFAULT_NETWORKS,
    LAB_NETWORK_PASSPHRASE,
    LAB_NETWORK_SSID,
    WifiDeviceFleet,
    default_fleet,
)
from simulators.http_wifi.server import RunningSimulator, start_simulator

__all__ = [
    "DEFAULT_NETWORKS",
    "FLEET_KEY",
    "LAB_NETWORK_PASSPHRASE",
    "LAB_NETWORK_SSID",
    "ClientIdentity",
    "DeviceCounters",
    "DeviceFaults",
    "JoinFailure",
    "JoinStatus",
    "RunningSimulator",
    "SimulatedWifiDevice",
    "StaConfig",
    "WifiDeviceFleet",
    "WifiStatus",
    "create_simulator_app",
    "default_fleet",
    "start_simulator",
]
