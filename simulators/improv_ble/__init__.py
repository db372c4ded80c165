"""Simulated Improv Wi-Fi devices on a virtual BLE radio, with a `/_sim/ble` control API.

See docs/ble.md for the protocol, the fault knobs and the control API.
"""

from simulators.improv_ble.control_http import (
    IMPROV_FLEET_KEY,
    add_improv_control,
    create_improv_control_app,
)
from simulators.improv_ble.device import (
    PREVIOUS_NETWORK_SSID,
    ImprovDeviceCounters,
    ImprovDeviceFaults,
    ImprovDeviceSpec,
    RpcFrameAssembler,
    SimulatedImprovDevice,
)
from simulators.improv_ble.fleet import (
    WEB_PAGE_PATH,
    ImprovDeviceFleet,
    default_improv_specs,
    host_name_for,
)
from simulators.improv_ble.peripheral import ImprovPeripheral
from simulators.improv_ble.server import RunningImprovControl, start_improv_control

__all__ = [
    "IMPROV_FLEET_KEY",
    "PREVIOUS_NETWORK_SSID",
    "WEB_PAGE_PATH",
    "ImprovDeviceCounters",
    "ImprovDeviceFaults",
    "ImprovDeviceFleet",
    "ImprovDeviceSpec",
    "ImprovPeripheral",
    "RpcFrameAssembler",
    "RunningImprovControl",
    "SimulatedImprovDevice",
    "add_improv_control",
    "create_improv_control_app",
    "default_improv_specs",
    "host_name_for",
    "start_improv_control",
]
