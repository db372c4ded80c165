"""Typed adapter errors: one root, retryable or not, with an optional retry-after."""

from __future__ import annotations

from domain.errors import Code, ErrorCode, checked_code

PEER_TEXT_BYTES = 200
"""What a peer-provided string (a device's SSID, a cloud's field name) may take in a message."""
MESSAGE_BYTES = 400
"""What an error's message may take, JSON-encoded: longer ones are clipped."""


def _fit(text: str, budget: int) -> tuple[str, int]:
    """The longest clean prefix of `text` costing at most `budget` bytes, and its length.

    A character costs its UTF-8 bytes, a quote or backslash two (JSON escapes them);
    line breaks and tabs become spaces, other control characters and lone surrogates
    U+FFFD, which JSON keeps as it is.
    """
    kept: list[str] = []
    used = 0
    for char in text:
        if char in "\t\n\r":
            char = " "
        elif char < " " or "\x7f" <= char <= "\x9f" or "\ud800" <= char <= "\udfff":
            char = "\ufffd"
        cost = 2 if char in '"\\' else len(char.encode())
        if used + cost > budget:
            break
        kept.append(char)
        used += cost
    return "".join(kept), len(kept)


def clip(text: str, limit: int = PEER_TEXT_BYTES) -> str:
    """`text` fit for an error message, a detail or a log line: never more than `limit`
    bytes once JSON-encoded, cut with a marker that says how much was left out.

    Peers choose what they send: a device or a cloud may answer megabytes, and Temporal
    keeps a retrying activity's last failure only while it stays under 4 KB.
    """
    head, kept = _fit(text, limit)
    if kept == len(text):
        return head
    marker_budget = len(f"… [+{len(text)} chars]".encode())
    head, kept = _fit(text, max(0, limit - marker_budget))
    return f"{head}… [+{len(text) - kept} chars]"


class AdapterError(Exception):
    """Root of every adapter failure.

    Attributes:
        code: Stable error code; becomes the `ApplicationError` type at the activity boundary.
            A shared `ErrorCode`, or a code of the family's own (a string its descriptor
            declares in `error_codes`); a malformed one fails when the class is defined.
        retryable: Whether trying the same operation again may succeed.
        retry_after: Seconds the remote side asked us to wait before retrying.
        details: Non-secret data that helps to act on the error.

    The message is clipped to `MESSAGE_BYTES`: it goes into logs and failures, and a
    peer's text in it may be of any length.
    """

    code: Code = ErrorCode.DEVICE_PROTOCOL_ERROR
    retryable: bool = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = checked_code(cls.code)

    def __init__(
        self,
        message: str,
        *,
        code: Code | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        message = clip(message, MESSAGE_BYTES)
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = checked_code(code)
        if retryable is not None:
            self.retryable = retryable
        self.retry_after = retry_after
        self.details = details or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, message={self.message!r})"


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


class MigrationJoinFailed(AdapterError):
    """A device moved to a new network did not join it and is back on its previous one."""

    code = ErrorCode.MIGRATION_JOIN_FAILED
    retryable = False
