"""Typed errors of the SDK, read from the API's `application/problem+json` bodies."""

from __future__ import annotations

from domain.api_models import Problem, StrategyRejection
from domain.errors import ErrorCode


class DevprovError(Exception):
    """Root of every error the SDK raises."""


class ApiUnreachable(DevprovError):
    """The API could not be reached (connection refused, timed out, reset)."""


class ApiProblem(DevprovError):
    """The API answered with a problem; `code` is stable, switch on it.

    Attributes:
        status: HTTP status.
        code: Stable error code (`domain.errors.Code`: a shared `ErrorCode` or a family's own).
        detail: Human explanation of this occurrence.
        problem: The whole problem body, including `errors` and `reasons`.
    """

    def __init__(self, status: int, problem: Problem) -> None:
        super().__init__(f"{problem.code} ({status}): {problem.detail}")
        self.status = status
        self.code = problem.code
        self.detail = problem.detail
        self.problem = problem

    @property
    def reasons(self) -> list[StrategyRejection]:
        """Strategies considered for the device and why each was not chosen."""
        return list(self.problem.reasons or [])


class InvalidRequest(ApiProblem):
    """The request was malformed or invalid (`problem.errors` names the fields)."""


class NotAuthorized(ApiProblem):
    """No valid key (401) or the key lacks the scope (403)."""


class UnsupportedDevice(ApiProblem):
    """No strategy serves the device, or the named one is unknown or switched off (or
    cannot decommission it)."""


class RunNotFound(ApiProblem):
    """The device has no run (or it belongs to another tenant)."""


class DeviceNotFound(ApiProblem):
    """The registry holds no such device for this key's tenant (`NOT_FOUND`); from an
    enrollment route: the tenant has no such enrollment."""


class RunConflict(ApiProblem):
    """The run is in progress, already finished, or not waiting for this action; or the
    device is (not) in service."""


class NotEnrolled(ApiProblem):
    """The tenant requires enrollment and none admits the device (or its claim secret
    is missing or wrong): `DEVICE_NOT_ENROLLED`; a fleet's problem lists `refused`."""


class EnrollmentExists(ApiProblem):
    """The tenant has this enrollment already (`ENROLLMENT_EXISTS`)."""


class RateLimited(ApiProblem):
    """Too many starts or streams for this key; retry after `retry_after` seconds."""

    def __init__(self, status: int, problem: Problem, retry_after: float | None) -> None:
        super().__init__(status, problem)
        self.retry_after = retry_after


class WebhookTargetRefused(ApiProblem):
    """The webhook URL is refused by the outbound-request policy
    (`WEBHOOK_TARGET_NOT_ALLOWED`)."""


class ServiceUnavailable(ApiProblem):
    """Temporal or its workers did not answer in time; the request may be retried."""


_BY_CODE: dict[str, type[ApiProblem]] = {
    ErrorCode.INVALID_REQUEST: InvalidRequest,
    ErrorCode.MALFORMED_JSON: InvalidRequest,
    ErrorCode.PAYLOAD_TOO_LARGE: InvalidRequest,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: InvalidRequest,
    ErrorCode.UNAUTHENTICATED: NotAuthorized,
    ErrorCode.FORBIDDEN: NotAuthorized,
    ErrorCode.UNSUPPORTED_DEVICE: UnsupportedDevice,
    ErrorCode.STRATEGY_DISABLED: UnsupportedDevice,
    ErrorCode.UNKNOWN_STRATEGY: UnsupportedDevice,
    ErrorCode.RUN_NOT_FOUND: RunNotFound,
    ErrorCode.RUN_IN_PROGRESS: RunConflict,
    ErrorCode.DEVICE_IN_SERVICE: RunConflict,
    ErrorCode.DEVICE_NOT_IN_SERVICE: RunConflict,
    ErrorCode.DECOMMISSION_UNSUPPORTED: UnsupportedDevice,
    ErrorCode.REPROVISION_POLICY_UNSUPPORTED: UnsupportedDevice,
    ErrorCode.NOT_FOUND: DeviceNotFound,
    ErrorCode.RUN_ALREADY_FINISHED: RunConflict,
    ErrorCode.RUN_NOT_WAITING: RunConflict,
    ErrorCode.TEMPORAL_UNAVAILABLE: ServiceUnavailable,
    ErrorCode.DEVICE_NOT_ENROLLED: NotEnrolled,
    ErrorCode.ENROLLMENT_EXISTS: EnrollmentExists,
    ErrorCode.WEBHOOK_TARGET_NOT_ALLOWED: WebhookTargetRefused,
}


def problem_error(status: int, problem: Problem, retry_after: str | None = None) -> ApiProblem:
    """The typed error for a problem response."""
    if problem.code in {ErrorCode.RATE_LIMITED, ErrorCode.TOO_MANY_STREAMS}:
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        return RateLimited(status, problem, seconds)
    return _BY_CODE.get(problem.code, ApiProblem)(status, problem)
