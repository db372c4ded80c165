"""What the API answers for an update the run did not take (services/runs.py)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.errors import ErrorCode
from services.errors import InternalFailure, RunConflict, TemporalUnavailable
from services.runs import (
    UPDATE_NOT_PROCESSED,
    UPDATE_OUTLIVED_RUN,
    UPDATE_SENDS,
    run_update,
    update_rejected,
)


def failed_update(cause: BaseException) -> WorkflowUpdateFailedError:
    return WorkflowUpdateFailedError(cause)


def test_an_update_whose_run_ended_first_is_a_conflict_not_an_internal_error() -> None:
    """Credentials that reach the run as it closes (a cancel finishing it) fail with the
    server's `AcceptedUpdateCompletedWorkflow`: the run has ended, nothing took effect."""
    cause = ApplicationError(
        "Workflow Update failed because the Workflow completed before the Update completed.",
        type=UPDATE_OUTLIVED_RUN,
        non_retryable=True,
    )

    answer = update_rejected(failed_update(cause))

    assert isinstance(answer, RunConflict)
    assert answer.code is ErrorCode.RUN_ALREADY_FINISHED
    assert "did not take effect" in answer.detail


def test_a_refusal_by_the_run_keeps_its_code_and_an_unknown_failure_is_internal() -> None:
    refused = ApplicationError("not waiting", type=ErrorCode.RUN_NOT_WAITING.value)
    assert update_rejected(failed_update(refused)).code is ErrorCode.RUN_NOT_WAITING
    unknown = update_rejected(failed_update(RuntimeError("boom")))
    assert isinstance(unknown, InternalFailure)


def unprocessed() -> WorkflowUpdateFailedError:
    return failed_update(
        ApplicationError(
            "Workflow Update is rejected because it wasn't processed by worker.",
            type=UPDATE_NOT_PROCESSED,
            non_retryable=True,
        )
    )


class FlakyHandle:
    """A run whose worker did not take up the first `misses` sends of an update."""

    def __init__(self, misses: int) -> None:
        self.misses = misses
        self.sends: list[tuple[str, tuple[object, ...]]] = []

    async def execute_update(self, update: str, *, args: Any, **_: Any) -> str:
        self.sends.append((update, tuple(args)))
        if len(self.sends) <= self.misses:
            raise unprocessed()
        return "taken"


async def test_an_update_the_worker_did_not_take_up_is_sent_again() -> None:
    """Found by the saga explorer (make chaos): credentials sent as an Improv run moved
    on were answered 500 with the server's `UnprocessedUpdate` (the SDK got the update
    with other new work and did not take it up); it did not take effect."""
    handle = FlakyHandle(misses=UPDATE_SENDS - 1)

    answer = await run_update(cast(Any, handle), "submit_credentials", "lab", result_type=str)

    assert answer == "taken"
    assert handle.sends == [("submit_credentials", ("lab",))] * UPDATE_SENDS


async def test_an_update_never_taken_up_is_a_503_that_says_to_try_again() -> None:
    handle = FlakyHandle(misses=UPDATE_SENDS)
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await run_update(cast(Any, handle), "retry", result_type=str)

    answer = update_rejected(failure.value)

    assert len(handle.sends) == UPDATE_SENDS
    assert isinstance(answer, TemporalUnavailable)
    assert answer.code is ErrorCode.TEMPORAL_UNAVAILABLE
    assert "did not take effect" in answer.detail
