"""Stable error codes: the shared ones, and the type of every code, shared or a family's.

The codes every layer shares — device and transport, lifecycle, API — are the members of
`ErrorCode`. A device family reports codes of its own as plain strings, declared in its
descriptor (`strategies.family.DeviceFamily.error_codes`): adding a family edits nothing
here. Wherever a code is carried — an adapter error, an `ApplicationError`'s type, a
progress event, a problem body — its type is `Code`: a string in SCREAMING_SNAKE_CASE,
a member of `ErrorCode` when it is a shared one.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints, WithJsonSchema

CODE_PATTERN = r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$"
"""What a code looks like: SCREAMING_SNAKE_CASE (`DEVICE_TIMEOUT`, `SESSION_AUTH_FAILED`).
A Python exception's name (`ValueError`, `TimeoutError`) never matches."""
CODE_MAX_LENGTH = 64
"""The longest code: it is a search attribute's value and a problem's URN."""
_CODE = re.compile(CODE_PATTERN)


class ErrorCode(StrEnum):
    """The shared stable, documented error codes (see docs/errors.md).

    Device-side codes come from adapters through activities; the API adds its own
    request-level codes. A family's own codes are not members: they are strings its
    descriptor declares (see `Code`).
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
    OUTBOUND_NOT_ALLOWED = "OUTBOUND_NOT_ALLOWED"
    MIGRATION_JOIN_FAILED = "MIGRATION_JOIN_FAILED"
    # lifecycle outcomes
    PRE_CHECK_FAILED = "PRE_CHECK_FAILED"
    HOOK_DENIED = "HOOK_DENIED"
    HOOK_UNAVAILABLE = "HOOK_UNAVAILABLE"
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
    DEVICE_IN_SERVICE = "DEVICE_IN_SERVICE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
    DEVICE_NOT_IN_SERVICE = "DEVICE_NOT_IN_SERVICE"
    DEVICE_NOT_CLAIMED = "DEVICE_NOT_CLAIMED"
    DECOMMISSION_UNSUPPORTED = "DECOMMISSION_UNSUPPORTED"
    REPROVISION_POLICY_UNSUPPORTED = "REPROVISION_POLICY_UNSUPPORTED"
    TRANSPORT_UNSUPPORTED = "TRANSPORT_UNSUPPORTED"
    RUN_NOT_FOUND = "RUN_NOT_FOUND"
    RUN_NOT_WAITING = "RUN_NOT_WAITING"
    RUN_ALREADY_FINISHED = "RUN_ALREADY_FINISHED"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    TEMPORAL_UNAVAILABLE = "TEMPORAL_UNAVAILABLE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    TOO_MANY_STREAMS = "TOO_MANY_STREAMS"
    DEVICE_NOT_ENROLLED = "DEVICE_NOT_ENROLLED"
    ENROLLMENT_EXISTS = "ENROLLMENT_EXISTS"
    WEBHOOK_TARGET_NOT_ALLOWED = "WEBHOOK_TARGET_NOT_ALLOWED"
    WEBHOOK_SECRETS_UNAVAILABLE = "WEBHOOK_SECRETS_UNAVAILABLE"
    # Zigbee
    ZIGBEE_INVALID_INSTALL_CODE = "ZIGBEE_INVALID_INSTALL_CODE"
    ZIGBEE_JOIN_TIMEOUT = "ZIGBEE_JOIN_TIMEOUT"
    ZIGBEE_INTERVIEW_FAILED = "ZIGBEE_INTERVIEW_FAILED"
    ZIGBEE_CONFIGURATION_FAILED = "ZIGBEE_CONFIGURATION_FAILED"
    ZIGBEE_DEVICE_NOT_ON_NETWORK = "ZIGBEE_DEVICE_NOT_ON_NETWORK"
    ZIGBEE_COORDINATOR_NOT_READY = "ZIGBEE_COORDINATOR_NOT_READY"
    ZIGBEE_NETWORK_FULL = "ZIGBEE_NETWORK_FULL"
    ZIGBEE_RADIO_UNAVAILABLE = "ZIGBEE_RADIO_UNAVAILABLE"
    # BLE / Improv
    BLE_RADIO_UNAVAILABLE = "BLE_RADIO_UNAVAILABLE"
    BLE_CONNECTION_LOST = "BLE_CONNECTION_LOST"
    BLE_GATT_TIMEOUT = "BLE_GATT_TIMEOUT"
    BLE_CHARACTERISTIC_MISSING = "BLE_CHARACTERISTIC_MISSING"
    IMPROV_AUTHORIZATION_TIMEOUT = "IMPROV_AUTHORIZATION_TIMEOUT"
    IMPROV_NOT_AUTHORIZED = "IMPROV_NOT_AUTHORIZED"
    IMPROV_INVALID_RPC = "IMPROV_INVALID_RPC"
    IMPROV_UNKNOWN_COMMAND = "IMPROV_UNKNOWN_COMMAND"
    IMPROV_DEVICE_ERROR = "IMPROV_DEVICE_ERROR"
    # Vendor cloud
    CLOUD_RATE_LIMITED = "CLOUD_RATE_LIMITED"
    CLOUD_UNAVAILABLE = "CLOUD_UNAVAILABLE"
    CLOUD_TIMEOUT = "CLOUD_TIMEOUT"
    CLOUD_UNAUTHORIZED = "CLOUD_UNAUTHORIZED"
    CLOUD_CLAIM_REJECTED = "CLOUD_CLAIM_REJECTED"
    CLOUD_FORBIDDEN = "CLOUD_FORBIDDEN"
    CLOUD_NOT_FOUND = "CLOUD_NOT_FOUND"
    CLOUD_CONFLICT = "CLOUD_CONFLICT"
    CLOUD_INVALID_REQUEST = "CLOUD_INVALID_REQUEST"
    CLOUD_IDEMPOTENCY_MISMATCH = "CLOUD_IDEMPOTENCY_MISMATCH"
    CLOUD_PROTOCOL_ERROR = "CLOUD_PROTOCOL_ERROR"
    CLOUD_CHECKIN_TIMEOUT = "CLOUD_CHECKIN_TIMEOUT"

    @classmethod
    def from_type(cls, error_type: str | None) -> str:
        """The code named by a failure's type: the shared member, a family's code as it
        is, INTERNAL_ERROR for anything that is not a code (an unexpected exception's
        class name, such as `ValueError`, or no type at all)."""
        if error_type is None or not is_code(error_type):
            return cls.INTERNAL_ERROR
        return shared_or_same(error_type)


_SHARED = frozenset(member.value for member in ErrorCode)


def is_code(value: str) -> bool:
    """Whether `value` is a well-formed code (SCREAMING_SNAKE_CASE, at most 64 characters)."""
    return len(value) <= CODE_MAX_LENGTH and _CODE.fullmatch(value) is not None


def shared_or_same(code: str) -> str:
    """The `ErrorCode` member of a shared code (so `is` comparisons hold); any other code
    as it is."""
    return ErrorCode(code) if code in _SHARED else code


def checked_code(code: str) -> str:
    """`code` if it is well-formed (see `is_code`), as `shared_or_same` gives it.

    Raises:
        ValueError: `code` is not a code.
    """
    if not is_code(code):
        raise ValueError(
            f"{code!r} is not an error code: SCREAMING_SNAKE_CASE, "
            f"at most {CODE_MAX_LENGTH} characters"
        )
    return shared_or_same(code)


Code = Annotated[
    str,
    StringConstraints(pattern=CODE_PATTERN, max_length=CODE_MAX_LENGTH),
    AfterValidator(shared_or_same),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": CODE_PATTERN,
            "maxLength": CODE_MAX_LENGTH,
            "description": (
                "A stable error code (docs/errors.md): a shared code, or one a device "
                "family declares. Switch on it, not on messages."
            ),
            "examples": ["DEVICE_UNREACHABLE"],
        }
    ),
]
"""The type of an error code wherever one is carried: a string in SCREAMING_SNAKE_CASE.
A shared code validates to its `ErrorCode` member, a family's own code stays a `str`;
either compares equal to its text. Annotate `Code`, never `ErrorCode`, where a family's
code may arrive."""
