"""Zigbee adapter: one coordinator per edge worker on zigpy's `ControllerApplication`.

See docs/zigbee.md for how joining with install codes works and how to point an edge
worker at a real coordinator stick.
"""

from adapters.zigbee.coordinator import CoordinatorSettings, ZigbeeCoordinator
from adapters.zigbee.errors import (
    CoordinatorNotReady,
    InvalidInstallCode,
    ZigbeeConfigurationFailed,
    ZigbeeDeviceMismatch,
    ZigbeeDeviceNotOnNetwork,
    ZigbeeError,
    ZigbeeInterviewFailed,
    ZigbeeJoinTimeout,
    ZigbeeNetworkFull,
    ZigbeeRadioUnavailable,
)
from adapters.zigbee.radios import (
    KNOWN_RADIOS,
    SIMULATED,
    RadioSpec,
    SimulatedZigbeeRadios,
    load_controller,
    parse_radio,
)

__all__ = [
    "KNOWN_RADIOS",
    "SIMULATED",
    "CoordinatorNotReady",
    "CoordinatorSettings",
    "InvalidInstallCode",
    "RadioSpec",
    "SimulatedZigbeeRadios",
    "ZigbeeConfigurationFailed",
    "ZigbeeCoordinator",
    "ZigbeeDeviceMismatch",
    "ZigbeeDeviceNotOnNetwork",
    "ZigbeeError",
    "ZigbeeInterviewFailed",
    "ZigbeeJoinTimeout",
    "ZigbeeNetworkFull",
    "ZigbeeRadioUnavailable",
    "load_controller",
    "parse_radio",
]
