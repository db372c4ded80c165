"""Typed failures of the Zigbee adapter, each with a stable code.

Messages and details never contain an install code or a key.
"""

from __future__ import annotations

from adapters.errors import AdapterError
from domain.errors import ErrorCode


class ZigbeeError(AdapterError):
    """Root of the Zigbee adapter's failures."""

    code = ErrorCode.DEVICE_PROTOCOL_ERROR
    retryable = False


class InvalidInstallCode(ZigbeeError):
    """The install code is malformed or its CRC is wrong; the network was not opened."""

    code = ErrorCode.ZIGBEE_INVALID_INSTALL_CODE
    retryable = False


class ZigbeeJoinTimeout(ZigbeeError):
    """The network was open for the device and it did not join; it is closed again."""

    code = ErrorCode.ZIGBEE_JOIN_TIMEOUT
    retryable = False


class ZigbeeInterviewFailed(ZigbeeError):
    """The device joined but did not answer its interview; it can be asked again."""

    code = ErrorCode.ZIGBEE_INTERVIEW_FAILED
    retryable = True


class ZigbeeConfigurationFailed(ZigbeeError):
    """Binding or reporting configuration was refused (or not delivered: retryable)."""

    code = ErrorCode.ZIGBEE_CONFIGURATION_FAILED
    retryable = False


class ZigbeeDeviceNotOnNetwork(ZigbeeError):
    """The device is not in the coordinator's device table."""

    code = ErrorCode.ZIGBEE_DEVICE_NOT_ON_NETWORK
    retryable = False


class ZigbeeDeviceMismatch(ZigbeeError):
    """The device's Basic cluster names another manufacturer or model."""

    code = ErrorCode.DEVICE_MISMATCH
    retryable = False


class CoordinatorNotReady(ZigbeeError):
    """The coordinator is not connected to its radio or has no running network."""

    code = ErrorCode.ZIGBEE_COORDINATOR_NOT_READY
    retryable = True


class ZigbeeNetworkFull(ZigbeeError):
    """The network already holds as many devices as the coordinator is configured for."""

    code = ErrorCode.ZIGBEE_NETWORK_FULL
    retryable = False


class ZigbeeRadioUnavailable(ZigbeeError):
    """The configured radio cannot be used: unknown kind or its library is not installed."""

    code = ErrorCode.ZIGBEE_RADIO_UNAVAILABLE
    retryable = False
