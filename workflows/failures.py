"""Translating activity failures into step failures with stable codes, for every family.

Workflows raise `StepFailure` for a step that failed for good; the lifecycle compensates
and ends the run with its code. An activity's failure arrives as an `ActivityError`
wrapping the `ApplicationError` the worker's error boundary made from an adapter error
(its type is the error code: a shared `ErrorCode` or a code of the family's own, kept as
it is), or wrapping a timeout.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    TimeoutType,
)
from temporalio.exceptions import (
    TimeoutError as TemporalTimeoutError,
)

with workflow.unsafe.imports_passed_through():
    from domain.errors import Code, ErrorCode


class StepFailure(Exception):
    """A step failed for good; the run compensates and ends."""

    def __init__(self, code: Code, message: str, details: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


def application_error(error: BaseException) -> ApplicationError | None:
    """The `ApplicationError` under an activity failure's chain of causes, if any."""
    cause: BaseException | None = error
    while isinstance(cause, ActivityError):
        cause = cause.cause
    return cause if isinstance(cause, ApplicationError) else None


def failure_from(error: BaseException) -> StepFailure:
    """Translate an activity failure into a step failure with a stable code."""
    cause: BaseException | None = error
    while isinstance(cause, ActivityError):
        cause = cause.cause
    if isinstance(cause, ApplicationError) and cause.type:
        code = ErrorCode.from_type(cause.type)
        details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        return StepFailure(code, cause.message, {str(k): str(v) for k, v in details.items()})
    if isinstance(cause, TemporalTimeoutError) and cause.type is TimeoutType.SCHEDULE_TO_START:
        return StepFailure(
            ErrorCode.EDGE_WORKER_LOST, "no edge worker took the step on its task queue in time"
        )
    if isinstance(cause, TemporalTimeoutError):
        return StepFailure(
            ErrorCode.DEVICE_TIMEOUT,
            f"step timed out ({cause.type.name if cause.type else 'unknown'})",
        )
    message = cause.message if isinstance(cause, FailureError) else str(cause)
    return StepFailure(ErrorCode.INTERNAL_ERROR, message or type(cause).__name__)
