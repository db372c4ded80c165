"""Simulated Zigbee: a coordinator radio for zigpy and Zigbee 3.0 devices that join it.

See docs/zigbee.md for the devices, the fault knobs and the `/_sim/zigbee` control API.
"""

from simulators.zigbee.control_http import (
    ZIGBEE_SIMULATOR_KEY,
    RunningZigbeeControl,
    ZigbeeSimulatorState,
    add_control_routes,
    create_control_app,
    start_zigbee_control,
)
from simulators.zigbee.device import (
    LogicalType,
    NetworkMembership,
    SimulatedEndpoint,
    SimulatedZigbeeDevice,
    ZigbeeDeviceCounters,
    ZigbeeDeviceFaults,
)
from simulators.zigbee.fleet import (
    PRODUCTS,
    ZigbeeDeviceFleet,
    color_bulb,
    default_fleet,
    motion_sensor,
    smart_plug,
)
from simulators.zigbee.install_codes import (
    format_install_code,
    install_code_for,
    masked_install_code,
    with_crc,
)
from simulators.zigbee.radio import (
    CONF_SIMULATION,
    SimulatedCoordinator,
    SimulatedStick,
    StickCounters,
    ZigbeeSimulation,
    simulation_config,
)
from simulators.zigbee.world import SimulatedZigbeeWorld, stick_ieee_for

__all__ = [
    "CONF_SIMULATION",
    "PRODUCTS",
    "ZIGBEE_SIMULATOR_KEY",
    "LogicalType",
    "NetworkMembership",
    "RunningZigbeeControl",
    "SimulatedCoordinator",
    "SimulatedEndpoint",
    "SimulatedStick",
    "SimulatedZigbeeDevice",
    "SimulatedZigbeeWorld",
    "StickCounters",
    "ZigbeeDeviceCounters",
    "ZigbeeDeviceFaults",
    "ZigbeeDeviceFleet",
    "ZigbeeSimulation",
    "ZigbeeSimulatorState",
    "add_control_routes",
    "color_bulb",
    "create_control_app",
    "default_fleet",
    "format_install_code",
    "install_code_for",
    "masked_install_code",
    "motion_sensor",
    "simulation_config",
    "smart_plug",
    "start_zigbee_control",
    "stick_ieee_for",
    "with_crc",
]
