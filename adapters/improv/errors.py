"""Improv's own failures as adapter errors with stable codes.

| what the device reports          | error                        | code                         |
|----------------------------------|------------------------------|------------------------------|
| error 0x01 invalid RPC packet    | `ImprovRpcRejected`          | IMPROV_INVALID_RPC           |
| error 0x02 unknown RPC command   | `ImprovRpcRejected`          | IMPROV_UNKNOWN_COMMAND       |
| error 0x03 unable to connect     | `CredentialsRejected`        | CREDENTIALS_REJECTED         |
| error 0x04 not authorized        | `ImprovNotAuthorized`        | IMPROV_NOT_AUTHORIZED        |
| error 0x05 bad hostname          | `ImprovRpcRejected`          | DEVICE_REJECTED_REQUEST      |
| error 0xFF unknown error         | `ImprovDeviceError`          | IMPROV_DEVICE_ERROR, retried |
| still "authorization required"   | `ImprovAuthorizationTimeout` | IMPROV_AUTHORIZATION_TIMEOUT |
| took the credentials, no result  | `ImprovNoResult`             | NETWORK_JOIN_TIMEOUT         |
"""

from __future__ import annotations

from improv_ble_client.protocol import Error

from adapters.errors import AdapterError, CredentialsRejected
from domain.errors import ErrorCode


class ImprovRpcRejected(AdapterError):
    """The device refused an RPC command as malformed, unknown or invalid."""

    retryable = False


class ImprovNotAuthorized(AdapterError):
    """The device needs its button pressed (again) before it takes credentials."""

    code = ErrorCode.IMPROV_NOT_AUTHORIZED
    retryable = False


class ImprovAuthorizationTimeout(AdapterError):
    """Nobody authorized the device (pressed its button) within the allowed time."""

    code = ErrorCode.IMPROV_AUTHORIZATION_TIMEOUT
    retryable = False


class ImprovDeviceError(AdapterError):
    """The device reported an unspecified error; trying again may work."""

    code = ErrorCode.IMPROV_DEVICE_ERROR
    retryable = True


class ImprovNoResult(AdapterError):
    """The device took the credentials but never reported whether it joined."""

    code = ErrorCode.NETWORK_JOIN_TIMEOUT
    retryable = False


def improv_error(error: Error, *, subject: str, details: dict[str, str]) -> AdapterError:
    """The adapter error for an error the device reported on its error characteristic."""
    details = {**details, "improv_error": error.name}
    match error:
        case Error.UNABLE_TO_CONNECT:
            return CredentialsRejected(
                f"{subject} could not join the network with the credentials it was given "
                "(wrong passphrase, or the network is out of range)",
                details=details,
            )
        case Error.NOT_AUTHORIZED:
            return ImprovNotAuthorized(
                f"{subject} is not authorized: press its button, then send the credentials",
                details=details,
            )
        case Error.INVALID_RPC_PACKET:
            return ImprovRpcRejected(
                f"{subject} rejected the command as malformed",
                code=ErrorCode.IMPROV_INVALID_RPC,
                details=details,
            )
        case Error.UNKNOWN_RPC_COMMAND:
            return ImprovRpcRejected(
                f"{subject} does not know the command",
                code=ErrorCode.IMPROV_UNKNOWN_COMMAND,
                details=details,
            )
        case Error.BAD_HOSTNAME:
            return ImprovRpcRejected(
                f"{subject} rejected the host name",
                code=ErrorCode.DEVICE_REJECTED_REQUEST,
                details=details,
            )
        case _:
            return ImprovDeviceError(f"{subject} reported an unknown error", details=details)
