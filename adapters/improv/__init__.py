"""Improv Wi-Fi onboarding over BLE (https://www.improv-wifi.com/ble/), on bleak.

Reuses py-improv-ble-client's `protocol` module; see `session` for why not its client.
"""

from adapters.improv.adapter import ImprovBleAdapter, ImprovProvisioning
from adapters.improv.advertisement import (
    BLE_ADDRESS_HINT,
    BLE_NAME_HINT,
    ImprovAdvertisement,
    ImprovDeviceMatch,
)
from adapters.improv.errors import (
    ImprovAuthorizationTimeout,
    ImprovDeviceError,
    ImprovNoResult,
    ImprovNotAuthorized,
    ImprovRpcRejected,
)
from adapters.improv.session import ImprovSession, ImprovTimeouts

__all__ = [
    "BLE_ADDRESS_HINT",
    "BLE_NAME_HINT",
    "ImprovAdvertisement",
    "ImprovAuthorizationTimeout",
    "ImprovBleAdapter",
    "ImprovDeviceError",
    "ImprovDeviceMatch",
    "ImprovNoResult",
    "ImprovNotAuthorized",
    "ImprovProvisioning",
    "ImprovRpcRejected",
    "ImprovSession",
    "ImprovTimeouts",
]
