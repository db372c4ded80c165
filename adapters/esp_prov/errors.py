"""The ESP-IDF provisioning family's failures as adapter errors with stable codes.

| what happens                                        | error (code now)                   |
|-----------------------------------------------------|------------------------------------|
| the device refuses our proof (wrong SRP password or | `SessionAuthFailed`                |
| PoP), or its own proof is wrong                     | (DEVICE_REJECTED_REQUEST*)         |
| it uses another security scheme than requested      | `SecuritySchemeMismatch` (same*)   |
| Wi-Fi status `ConnectionFailed` / `AuthError`       | `CredentialsRejected`              |
| Wi-Fi status `ConnectionFailed` / `NetworkNotFound` | `NetworkNotFound` (CREDENTIALS_*)  |
| still not connected when the wait ends              | `JoinNotConfirmed` (JOIN_TIMEOUT)  |
| a status other than Success, a malformed message,   | `DeviceProtocolError`              |
| an answer that does not decrypt                     |                                    |

* The issue names its own codes, SESSION_AUTH_FAILED and NETWORK_NOT_FOUND; the
codes a workflow can see are members of `domain.errors.ErrorCode` (the activity
boundary sends `code.value` as the failure type, and the workflows read it back with
`ErrorCode.from_type`, which turns any other string into INTERNAL_ERROR). Until the
codes exist there, these errors carry the closest shared code and name their own in
`details["esp_error"]`, and `FAMILY_ERROR_CODES` lists them for the descriptor.
"""

from __future__ import annotations

from adapters.errors import AdapterError, CredentialsRejected
from domain.errors import ErrorCode

SESSION_AUTH_FAILED = "SESSION_AUTH_FAILED"
NETWORK_NOT_FOUND = "NETWORK_NOT_FOUND"
FAMILY_ERROR_CODES = frozenset({SESSION_AUTH_FAILED, NETWORK_NOT_FOUND})
"""The codes this family will declare in its descriptor's `error_codes`."""

ESP_ERROR = "esp_error"
"""`details` key naming the family's own code."""


class SessionAuthFailed(AdapterError):
    """The secure session could not be established: the security secret is wrong.

    Trying again with the same secret cannot succeed.
    """

    code = ErrorCode.DEVICE_REJECTED_REQUEST
    retryable = False

    def __init__(self, message: str, *, details: dict[str, str] | None = None) -> None:
        super().__init__(message, details={**(details or {}), ESP_ERROR: SESSION_AUTH_FAILED})


class SecuritySchemeMismatch(AdapterError):
    """The device asks for another security scheme than the secret we hold is for."""

    code = ErrorCode.DEVICE_REJECTED_REQUEST
    retryable = False

    def __init__(self, message: str, *, details: dict[str, str] | None = None) -> None:
        super().__init__(message, details={**(details or {}), ESP_ERROR: SESSION_AUTH_FAILED})


class NetworkNotFound(CredentialsRejected):
    """The device did not find the network it was given (a wrong SSID, or out of range)."""

    def __init__(self, message: str, *, details: dict[str, str] | None = None) -> None:
        super().__init__(message, details={**(details or {}), ESP_ERROR: NETWORK_NOT_FOUND})


class JoinNotConfirmed(AdapterError):
    """The device did not report a connection within the time allowed."""

    code = ErrorCode.NETWORK_JOIN_TIMEOUT
    retryable = False
