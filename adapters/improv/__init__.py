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
from adapters.improv.port import DeviceWebPort, ImprovOnboardingPort
from adapters.improv.session import Heartbeat, ImprovSession, ImprovTimeouts
from adapters.improv.web import DeviceWebPage, WebReset

__all__ = [
    "BLE_ADDRESS_HINT",
    "BLE_NAME_HINT",
    "DeviceWebPage",
    "DeviceWebPort",
    "Heartbeat",
    "ImprovAdvertisement",
    "ImprovAuthorizationTimeout",
    "ImprovBleAdapter",
    "ImprovDeviceError",
    "ImprovDeviceMatch",
    "ImprovNoResult",
    "ImprovNotAuthorized",
    "ImprovOnboardingPort",
    "ImprovProvisioning",
    "ImprovRpcRejected",
    "ImprovSession",
    "ImprovTimeouts",
    "WebReset",
]
