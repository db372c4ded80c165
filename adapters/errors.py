"""Typed adapter errors: one root, retryable or not, with an optional retry-after."""

from __future__ import annotations

from domain.errors import ErrorCode


class AdapterError(Exception):
    """Root of every adapter failure.

    Attributes:
        code: Stable error code; becomes the `ApplicationError` type at the activity boundary.
        retryable: Whether trying the same operation again may succeed.
        retry_after: Seconds the remote side asked us to wait before retrying.
        details: Non-secret data that helps to act on the error.
    """

    code: ErrorCode = ErrorCode.DEVICE_PROTOCOL_ERROR
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable
        self.retry_after = retry_after
        self.details = details or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code.value}, message={self.message!r})"


class DeviceUnreachable(AdapterError):
    """The device did not answer: not in range, powered off or not yet in set-up mode."""

    code = ErrorCode.DEVICE_UNREACHABLE
    retryable = True


class DeviceTimeout(AdapterError):
    """The device accepted a connection but did not answer in time."""

    code = ErrorCode.DEVICE_TIMEOUT
    retryable = True


class DeviceBusy(AdapterError):
    """The device asked us to come back later."""

    code = ErrorCode.DEVICE_BUSY
    retryable = True


class DeviceProtocolError(AdapterError):
    """The device answered something we cannot understand."""

    code = ErrorCode.DEVICE_PROTOCOL_ERROR
    retryable = False


class DeviceRejectedRequest(AdapterError):
    """The device understood the request and refused it."""

    code = ErrorCode.DEVICE_REJECTED_REQUEST
    retryable = False


class CredentialsRejected(AdapterError):
    """The network refused the credentials the device was given."""

    code = ErrorCode.CREDENTIALS_REJECTED
    retryable = False


class NetworkJoinPending(AdapterError):
    """The device has not joined its network yet; retried until the step's deadline."""

    code = ErrorCode.NETWORK_JOIN_TIMEOUT
    retryable = True
