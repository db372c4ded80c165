"""Typed BLE failures, and how bleak's exceptions map onto them.

| what happens                                            | error (code)                       |
|---------------------------------------------------------|------------------------------------|
| the device does not advertise within the scan window    | `BleDeviceNotFound` (UNREACHABLE)  |
| no connection within the connect timeout                | `DeviceUnreachable`                |
| the link drops during an operation, or was already down | `BleConnectionLost`                |
| a read, write or awaited notification gets no answer    | `BleGattTimeout`                   |
| the device lacks a service or characteristic we need    | `BleCharacteristicMissing`         |
| the device answers a GATT request with an ATT error     | `DeviceProtocolError`              |
| no usable radio (adapter off, dongle missing, no BlueZ) | `BleRadioUnavailable`              |
"""

from __future__ import annotations

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakCharacteristicNotFoundError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)

from adapters.errors import AdapterError, DeviceProtocolError, DeviceUnreachable
from domain.errors import ErrorCode


class BleDeviceNotFound(DeviceUnreachable):
    """No advertisement of the device was heard: out of range, off or not in set-up mode."""


class BleConnectionLost(AdapterError):
    """The BLE link dropped (or was down) while an operation needed it."""

    code = ErrorCode.BLE_CONNECTION_LOST
    retryable = True


class BleGattTimeout(AdapterError):
    """A GATT request or an awaited notification got no answer in time."""

    code = ErrorCode.BLE_GATT_TIMEOUT
    retryable = True


class BleCharacteristicMissing(AdapterError):
    """The device does not offer a GATT service or characteristic the protocol needs."""

    code = ErrorCode.BLE_CHARACTERISTIC_MISSING
    retryable = False


class BleRadioUnavailable(AdapterError):
    """The gateway's BLE radio cannot be used (powered off, unplugged, no permission)."""

    code = ErrorCode.BLE_RADIO_UNAVAILABLE
    retryable = True


def ble_failure(
    error: BaseException,
    *,
    operation: str,
    connected: bool,
    details: dict[str, str],
) -> AdapterError:
    """The adapter error for a bleak (or asyncio) failure of `operation`.

    Args:
        error: What bleak or the backend raised.
        operation: What we were doing, for the message, e.g. "read of the Improv state".
        connected: Whether the client still reports a connection: a failure after the
            link went down is a lost connection whatever the backend called it.
        details: Non-secret data naming the device.
    """
    details = {**details, "operation": operation}
    if isinstance(error, AdapterError):
        return error
    if isinstance(error, BleakBluetoothNotAvailableError):
        return BleRadioUnavailable(
            f"the BLE radio is not available: {error}", details={**details, "reason": str(error)}
        )
    if isinstance(error, BleakCharacteristicNotFoundError):
        return BleCharacteristicMissing(
            f"{operation}: the device has no characteristic {error.char_specifier}",
            details={**details, "characteristic": str(error.char_specifier)},
        )
    if isinstance(error, BleakDeviceNotFoundError):
        return BleDeviceNotFound(
            f"{operation}: the device is not known to the radio", details=details
        )
    if isinstance(error, TimeoutError):
        if not connected:
            return BleConnectionLost(f"{operation}: the link dropped", details=details)
        return BleGattTimeout(f"{operation}: no answer in time", details=details)
    if not connected:
        return BleConnectionLost(
            f"{operation}: the link dropped ({error or type(error).__name__})", details=details
        )
    if isinstance(error, BleakGATTProtocolError):
        return DeviceProtocolError(
            f"{operation}: the device answered ATT error {error.code.name}",
            details={**details, "att_error": error.code.name},
        )
    if isinstance(error, BleakError):
        return BleConnectionLost(f"{operation}: {error}", details=details)
    return DeviceProtocolError(f"{operation}: {type(error).__name__}: {error}", details=details)
