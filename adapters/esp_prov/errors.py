"""The ESP-IDF provisioning family's failures as adapter errors with stable codes.

| what happens                                     | error (code)                         |
|--------------------------------------------------|--------------------------------------|
| the device refuses our proof (wrong SRP password | `SessionAuthFailed`                  |
| or PoP), or its own proof is wrong               | (SESSION_AUTH_FAILED)                |
| it uses another scheme than requested            | `SecuritySchemeMismatch` (same)      |
| Wi-Fi status `ConnectionFailed` / `AuthError`    | `CredentialsRejected` (CREDENTIALS_) |
| Wi-Fi status `ConnectionFailed`/`NetworkNotFound`| `NetworkNotFound` (NETWORK_NOT_FOUND)|
| still not connected when the wait ends           | `JoinNotConfirmed` (NETWORK_JOIN_)   |
| a status other than Success, a malformed message,| `DeviceProtocolError`                |
| an answer that does not decrypt                  | (DEVICE_PROTOCOL_ERROR)              |

The family declares its own two codes in its descriptor (`strategies.esp_prov_ble`);
SESSION_AUTH_FAILED is a validation failure: the run ends FAILED_VALIDATION with it.
"""

from __future__ import annotations

from adapters.errors import AdapterError
from domain.errors import ErrorCode

FAMILY_ERROR_CODES = frozenset({ErrorCode.SESSION_AUTH_FAILED, ErrorCode.NETWORK_NOT_FOUND})
"""The codes only this family reports (its descriptor's `error_codes`)."""


class SessionAuthFailed(AdapterError):
    """The secure session could not be established: the security secret is wrong.

    Trying again with the same secret cannot succeed.
    """

    code = ErrorCode.SESSION_AUTH_FAILED
    retryable = False


class SecuritySchemeMismatch(AdapterError):
    """The device asks for another security scheme than the secret we hold is for."""

    code = ErrorCode.SESSION_AUTH_FAILED
    retryable = False


class NetworkNotFound(AdapterError):
    """The device did not find the network it was given (a wrong SSID, or out of range)."""

    code = ErrorCode.NETWORK_NOT_FOUND
    retryable = False


class JoinNotConfirmed(AdapterError):
    """The device did not report a connection within the time allowed."""

    code = ErrorCode.NETWORK_JOIN_TIMEOUT
    retryable = False
