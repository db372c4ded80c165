"""ESP-IDF unified provisioning (protocomm, wifi_provisioning) over BLE, on bleak.

`protocol` and `security` are the wire format and the secure sessions without I/O
(messages generated from ESP-IDF's own definitions in `proto/`, SRP6a in `srp6a`);
`session` is one BLE connection; `adapter` the operations a step performs.
"""

from adapters.esp_prov.adapter import (
    BLE_ADDRESS_HINT,
    BLE_NAME_HINT,
    SERVICE_UUID_HINT,
    EspDeviceCheck,
    EspDeviceMatch,
    EspProvBleAdapter,
    EspSecurity,
)
from adapters.esp_prov.errors import (
    FAMILY_ERROR_CODES,
    NETWORK_NOT_FOUND,
    SESSION_AUTH_FAILED,
    JoinNotConfirmed,
    NetworkNotFound,
    SecuritySchemeMismatch,
    SessionAuthFailed,
)
from adapters.esp_prov.port import EspProvisioningPort
from adapters.esp_prov.protocol import (
    DEFAULT_SERVICE_UUID,
    Endpoint,
    FailReason,
    ScannedNetwork,
    SecurityScheme,
    StationState,
    VersionInfo,
    WifiStatus,
)
from adapters.esp_prov.session import EspProvSession, EspProvTimeouts

__all__ = [
    "BLE_ADDRESS_HINT",
    "BLE_NAME_HINT",
    "DEFAULT_SERVICE_UUID",
    "FAMILY_ERROR_CODES",
    "NETWORK_NOT_FOUND",
    "SERVICE_UUID_HINT",
    "SESSION_AUTH_FAILED",
    "Endpoint",
    "EspDeviceCheck",
    "EspDeviceMatch",
    "EspProvBleAdapter",
    "EspProvSession",
    "EspProvTimeouts",
    "EspProvisioningPort",
    "EspSecurity",
    "FailReason",
    "JoinNotConfirmed",
    "NetworkNotFound",
    "ScannedNetwork",
    "SecurityScheme",
    "SecuritySchemeMismatch",
    "SessionAuthFailed",
    "StationState",
    "VersionInfo",
    "WifiStatus",
]
