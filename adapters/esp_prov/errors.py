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

SESSION_AUTH_FAILED and NETWORK_NOT_FOUND are the family's own codes: plain strings, not
members of the shared `ErrorCode`, declared in its descriptor (`strategies.esp_prov_ble`,
which cannot import adapters: tests/unit/test_esp_prov_family.py checks that both say the
same). SESSION_AUTH_FAILED is a validation failure: the run ends FAILED_VALIDATION with it.
"""

from __future__ import annotations

from adapters.errors import AdapterError
from domain.errors import ErrorCode

SESSION_AUTH_FAILED = "SESSION_AUTH_FAILED"
"""The device refused the secure session (wrong secret, or another security scheme)."""
NETWORK_NOT_FOUND = "NETWORK_NOT_FOUND"
"""The device found no access point with the SSID it was given."""
FAMILY_ERROR_CODES = frozenset({SESSION_AUTH_FAILED, NETWORK_NOT_FOUND})
"""The codes only this family reports (its descriptor's `error_codes`)."""


class SessionAuthFailed(AdapterError):
    """The secure session could not be established: the security secret is wrong.

    Trying again with the same secret cannot succeed.
    """

    code = SESSION_AUTH_FAILED
    retryable = False


class SecuritySchemeMismatch(AdapterError):
    """The device asks for another security scheme than the secret we hold is for."""

    code = SESSION_AUTH_FAILED
    retryable = False


class NetworkNotFound(AdapterError):
    """The device did not find the network it was given (a wrong SSID, or out of range)."""

    code = NETWORK_NOT_FOUND
    retryable = False


class JoinNotConfirmed(AdapterError):
    """The device did not report a connection within the time allowed."""

    code = ErrorCode.NETWORK_JOIN_TIMEOUT
    retryable = False
