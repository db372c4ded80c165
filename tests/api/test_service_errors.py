"""The use cases' domain errors answer with the same problem responses as ever."""

from __future__ import annotations

import pytest

from api.problems import problem_of
from domain.errors import ErrorCode
from services.errors import (
    InternalFailure,
    RequestNotServable,
    RunConflict,
    RunNotFound,
    ServiceError,
    TemporalUnavailable,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (RequestNotServable(ErrorCode.UNSUPPORTED_DEVICE, "no strategy"), 422),
        (RequestNotServable(ErrorCode.INVALID_REQUEST, "a fleet device is invalid"), 422),
        (RunNotFound(ErrorCode.RUN_NOT_FOUND, "no run"), 404),
        (RunConflict(ErrorCode.RUN_IN_PROGRESS, "in flight"), 409),
        (RunConflict(ErrorCode.RUN_NOT_WAITING, "busy"), 409),
        (RunConflict(ErrorCode.RUN_ALREADY_FINISHED, "done"), 409),
        (TemporalUnavailable(ErrorCode.TEMPORAL_UNAVAILABLE, "no answer"), 503),
        (InternalFailure(ErrorCode.INTERNAL_ERROR, "unreadable"), 500),
    ],
)
def test_each_kind_of_domain_error_has_its_status(error: ServiceError, status: int) -> None:
    problem = problem_of(error).to_problem()

    assert (problem.status, problem.code, problem.detail) == (status, error.code, error.detail)


def test_the_data_to_act_on_goes_into_the_problem_body() -> None:
    error = RequestNotServable(
        ErrorCode.UNSUPPORTED_DEVICE,
        "no strategy can provision device 'd1'",
        reasons=[{"strategy": "zigbee", "reasons": ["missing capabilities: zigbee"]}],
    )

    body = problem_of(error).to_problem().model_dump(exclude_none=True)

    assert body["reasons"] == [{"strategy": "zigbee", "reasons": ["missing capabilities: zigbee"]}]
    assert body["type"] == "urn:devprov:problem:UNSUPPORTED_DEVICE"
