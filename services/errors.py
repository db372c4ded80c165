"""Why a use case refused or failed: domain errors with a stable code, never an HTTP status.

Each entry point says what a kind means to its callers: the API maps the kinds to
problem responses (`api.problems`), the CLI prints the code and the detail.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.service import RPCError, RPCStatusCode

from domain.errors import Code, ErrorCode


class ServiceError(Exception):
    """A use case could not do what it was asked.

    Args:
        code: Stable error code (a shared one, or a family's that a run reported).
        detail: Human explanation of this occurrence. Never put a secret in it.
        context: Data the caller needs to act on it (`reasons`, `errors`, `links`, ...).
    """

    def __init__(self, code: Code, detail: str, **context: object) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.context = context


class RequestNotServable(ServiceError):
    """The request is well formed but cannot be served (unsupported device, invalid fleet)."""


class RunNotFound(ServiceError):
    """No run (or none of the caller's tenant) exists under this id."""


class DeviceUnknown(ServiceError):
    """No device (or none of the caller's tenant) has this id in the registry."""


class NotAdmitted(ServiceError):
    """The tenant requires enrollment and no enrollment of its admits the device."""


class EnrollmentUnknown(ServiceError):
    """The tenant has no enrollment with this id (another tenant's answers the same)."""


class EnrollmentConflict(ServiceError):
    """The tenant has an enrollment with this id already."""


class WebhookUnknown(ServiceError):
    """The tenant has no webhook (or no event of it) with this id."""


class WebhookTargetRefused(ServiceError):
    """A webhook URL the outbound-request policy does not allow."""


class RunConflict(ServiceError):
    """The run is in a state that refuses the request (in flight, finished, not waiting)."""


class TemporalUnavailable(ServiceError):
    """Temporal or its workers did not answer in time; the request may be tried again."""


class InternalFailure(ServiceError):
    """Something that should not happen did (unreadable history, a failed query)."""


_UNAVAILABLE = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    # The server answers a query that no worker picked up in time with CANCELLED.
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}


def temporal_unavailable(error: BaseException) -> bool:
    """Whether `error` means Temporal (or every worker) could not be reached."""
    if isinstance(error, RPCError):
        # A query to a run whose task queue has no worker polling it fails at once
        # with FAILED_PRECONDITION ("no poller seen for task queue recently").
        no_worker = error.status is RPCStatusCode.FAILED_PRECONDITION and "no poller" in str(error)
        return error.status in _UNAVAILABLE or no_worker
    # A lazily connected client raises this plain RuntimeError when the first
    # connection attempt fails; the SDK has no dedicated exception type for it.
    return isinstance(error, RuntimeError) and str(error).startswith("Failed client connect")


@contextmanager
def temporal_errors(workflow_id: str) -> Iterator[None]:
    """Turn the Temporal errors a caller can act on into `RunNotFound` and
    `TemporalUnavailable`; every other error passes through."""
    try:
        yield
    except (RPCError, RuntimeError) as error:
        if isinstance(error, RPCError) and error.status is RPCStatusCode.NOT_FOUND:
            raise RunNotFound(
                ErrorCode.RUN_NOT_FOUND, f"no provisioning run '{workflow_id}' exists"
            ) from None
        if temporal_unavailable(error):
            raise TemporalUnavailable(
                ErrorCode.TEMPORAL_UNAVAILABLE,
                "Temporal or its workers did not answer in time; try again later",
            ) from error
        raise
