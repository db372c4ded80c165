"""Stable error codes shared by adapters, activities, workflows and the API."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable, documented error codes (see docs/errors.md).

    Device-side codes come from adapters through activities; the API adds its own
    request-level codes.
    """

    # device and transport
    DEVICE_UNREACHABLE = "DEVICE_UNREACHABLE"
    DEVICE_TIMEOUT = "DEVICE_TIMEOUT"
    DEVICE_PROTOCOL_ERROR = "DEVICE_PROTOCOL_ERROR"
    DEVICE_REJECTED_REQUEST = "DEVICE_REJECTED_REQUEST"
    DEVICE_BUSY = "DEVICE_BUSY"
    CREDENTIALS_REJECTED = "CREDENTIALS_REJECTED"
    NETWORK_JOIN_TIMEOUT = "NETWORK_JOIN_TIMEOUT"
    DEVICE_MISMATCH = "DEVICE_MISMATCH"
    # lifecycle outcomes
    PRE_CHECK_FAILED = "PRE_CHECK_FAILED"
    DEVICE_WAIT_TIMEOUT = "DEVICE_WAIT_TIMEOUT"
    NETWORK_WAIT_TIMEOUT = "NETWORK_WAIT_TIMEOUT"
    ROLLBACK_FAILED = "ROLLBACK_FAILED"
    EDGE_WORKER_LOST = "EDGE_WORKER_LOST"
    CANCELLED_BY_USER = "CANCELLED_BY_USER"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # request level (API)
    INVALID_REQUEST = "INVALID_REQUEST"
    MALFORMED_JSON = "MALFORMED_JSON"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    UNSUPPORTED_DEVICE = "UNSUPPORTED_DEVICE"
    STRATEGY_DISABLED = "STRATEGY_DISABLED"
    UNKNOWN_STRATEGY = "UNKNOWN_STRATEGY"
    RUN_IN_PROGRESS = "RUN_IN_PROGRESS"
    RUN_NOT_FOUND = "RUN_NOT_FOUND"
    RUN_NOT_WAITING = "RUN_NOT_WAITING"
    RUN_ALREADY_FINISHED = "RUN_ALREADY_FINISHED"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    TEMPORAL_UNAVAILABLE = "TEMPORAL_UNAVAILABLE"

    @classmethod
    def from_type(cls, error_type: str | None) -> ErrorCode:
        """The code named by a failure's type; INTERNAL_ERROR for anything else."""
        try:
            return cls(error_type or "")
        except ValueError:
            return cls.INTERNAL_ERROR
