"""RFC 9457 problem details: the one shape of every error the API returns."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import ParamSpec, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from domain.api_models import PROBLEM_CONTENT_TYPE, Problem
from domain.errors import Code, ErrorCode
from services.errors import (
    DeviceUnknown,
    EnrollmentConflict,
    EnrollmentUnknown,
    InternalFailure,
    NotAdmitted,
    RequestNotServable,
    RunConflict,
    RunNotFound,
    ServiceError,
    TemporalUnavailable,
    WebhookTargetRefused,
    WebhookUnknown,
)

logger = logging.getLogger("devprov.api")

P = ParamSpec("P")
T = TypeVar("T")


_TITLES: dict[str, str] = {
    ErrorCode.INVALID_REQUEST: "The request is invalid",
    ErrorCode.MALFORMED_JSON: "The body is not valid JSON",
    ErrorCode.PAYLOAD_TOO_LARGE: "The body is too large",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "The body must be JSON",
    ErrorCode.UNSUPPORTED_DEVICE: "No strategy can provision this device",
    ErrorCode.STRATEGY_DISABLED: "The strategy is switched off",
    ErrorCode.UNKNOWN_STRATEGY: "No strategy has this name",
    ErrorCode.RUN_IN_PROGRESS: "A run for this device is in progress",
    ErrorCode.RUN_NOT_FOUND: "No run for this device",
    ErrorCode.DEVICE_IN_SERVICE: "The device is in service",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "The Idempotency-Key was used for another request",
    ErrorCode.IDEMPOTENCY_KEY_IN_USE: "A request with this Idempotency-Key is in progress",
    ErrorCode.DEVICE_NOT_IN_SERVICE: "The device is not in service",
    ErrorCode.DEVICE_NOT_CLAIMED: "No run holds the device",
    ErrorCode.DECOMMISSION_UNSUPPORTED: "This device's family cannot decommission it",
    ErrorCode.REPROVISION_POLICY_UNSUPPORTED: (
        "This device's strategy does not support the re-provisioning policy"
    ),
    ErrorCode.RUN_NOT_WAITING: "The run is not waiting for this",
    ErrorCode.RUN_ALREADY_FINISHED: "The run has finished",
    ErrorCode.DEVICE_NOT_ENROLLED: "The device is not enrolled",
    ErrorCode.ENROLLMENT_EXISTS: "The enrollment exists already",
    ErrorCode.WEBHOOK_TARGET_NOT_ALLOWED: "The webhook URL is not allowed",
    ErrorCode.WEBHOOK_SECRETS_UNAVAILABLE: "Webhook secrets cannot be kept encrypted",
    ErrorCode.NOT_FOUND: "Not found",
    ErrorCode.METHOD_NOT_ALLOWED: "Method not allowed",
    ErrorCode.TEMPORAL_UNAVAILABLE: "Temporal is unavailable",
    ErrorCode.INTERNAL_ERROR: "Internal error",
}


class ApiError(Exception):
    """Raised anywhere below a handler to answer with a problem response.

    Args:
        status: HTTP status.
        code: Stable error code.
        detail: Human explanation of this occurrence. Never put a secret in it.
        headers: Extra response headers (e.g. `Allow`).
        extras: Extra members of the problem body (`reasons`, `errors`, `links`, ...).
    """

    def __init__(
        self,
        status: int,
        code: Code,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extras: object,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extras = extras

    def to_problem(self) -> Problem:
        """The body of this problem's response."""
        return Problem(
            type=f"urn:devprov:problem:{self.code}",
            title=_TITLES.get(self.code) or HTTPStatus(self.status).phrase,
            status=self.status,
            detail=self.detail,
            code=self.code,
            **self.extras,
        )


_SERVICE_STATUS: dict[type[ServiceError], int] = {
    RequestNotServable: 422,
    RunNotFound: 404,
    DeviceUnknown: 404,
    NotAdmitted: 403,
    EnrollmentUnknown: 404,
    EnrollmentConflict: 409,
    WebhookUnknown: 404,
    WebhookTargetRefused: 422,
    RunConflict: 409,
    TemporalUnavailable: 503,
    InternalFailure: 500,
}


def problem_of(error: ServiceError) -> ApiError:
    """The problem the API answers a use case's domain error with."""
    status = next(
        (status for kind, status in _SERVICE_STATUS.items() if isinstance(error, kind)), 500
    )
    problem = ApiError(status, error.code, error.detail)
    problem.extras = dict(error.context)
    return problem


def answering_problems(call: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """`call` with its domain errors raised as the problems the API answers them with
    (for code that handles problems itself, like the progress hub)."""

    @functools.wraps(call)
    async def answered(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await call(*args, **kwargs)
        except ServiceError as error:
            raise problem_of(error) from None

    return answered


def problem_response(problem: ApiError) -> web.Response:
    """An `application/problem+json` response for `problem`."""
    body = problem.to_problem().model_dump_json(exclude_none=True)
    return web.Response(
        status=problem.status,
        text=body,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=problem.headers,
    )


_HTTP_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.INVALID_REQUEST,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    503: ErrorCode.TEMPORAL_UNAVAILABLE,
}


def _from_http_exception(error: web.HTTPException) -> ApiError:
    code = _HTTP_CODES.get(
        error.status,
        ErrorCode.INTERNAL_ERROR if error.status >= 500 else ErrorCode.INVALID_REQUEST,
    )
    headers = {}
    if isinstance(error, web.HTTPMethodNotAllowed):
        headers["Allow"] = ", ".join(sorted(error.allowed_methods))
    detail = {
        ErrorCode.NOT_FOUND: "no such resource",
        ErrorCode.METHOD_NOT_ALLOWED: f"allowed methods: {headers.get('Allow', '')}",
        ErrorCode.PAYLOAD_TOO_LARGE: "the request body exceeds the size limit",
    }.get(code, error.reason)
    return ApiError(error.status, code, detail, headers=headers)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error, aiohttp's own included, into a problem response."""
    try:
        return await handler(request)
    except ApiError as problem:
        return problem_response(problem)
    except ServiceError as error:
        return problem_response(problem_of(error))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return problem_response(_from_http_exception(error))
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception(
            "unexpected error in %s %s", request.method, request.rel_url.raw_path[:300]
        )
        return problem_response(
            ApiError(500, ErrorCode.INTERNAL_ERROR, "an unexpected error occurred; it was logged")
        )
