"""BLE for edge workers: bleak on the configured backend, including bumble's virtual radio.

- `stack`: choosing and opening a gateway's backend (`virtual`, `bluez`, `bumble-hci:…`).
- `bumble_backend`: a bleak backend on a bumble host.
- `virtual_radio`: bumble controllers on one in-process `LocalLink`.
- `errors`: typed BLE failures.
"""

from adapters.ble.bumble_backend import BumbleBleakClient, BumbleBleakScanner
from adapters.ble.bumble_host import BumbleCentral, BumbleHost, static_address_for
from adapters.ble.errors import (
    BleCharacteristicMissing,
    BleConnectionLost,
    BleDeviceNotFound,
    BleGattTimeout,
    BleRadioUnavailable,
)
from adapters.ble.stack import (
    BleBackendKind,
    BleBackendSpec,
    BleStack,
    UnknownBleBackend,
    open_ble_stack,
    parse_ble_backend,
)
from adapters.ble.virtual_radio import VirtualBleRadio

__all__ = [
    "BleBackendKind",
    "BleBackendSpec",
    "BleCharacteristicMissing",
    "BleConnectionLost",
    "BleDeviceNotFound",
    "BleGattTimeout",
    "BleRadioUnavailable",
    "BleStack",
    "BumbleBleakClient",
    "BumbleBleakScanner",
    "BumbleCentral",
    "BumbleHost",
    "UnknownBleBackend",
    "VirtualBleRadio",
    "open_ble_stack",
    "parse_ble_backend",
    "static_address_for",
]
