"""What the API answers for an update the run did not take (services/runs.py)."""

from __future__ import annotations

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.errors import ErrorCode
from services.errors import InternalFailure, RunConflict
from services.runs import UPDATE_OUTLIVED_RUN, update_rejected


def failed_update(cause: BaseException) -> WorkflowUpdateFailedError:
    return WorkflowUpdateFailedError(cause)


def test_an_update_whose_run_ended_first_is_a_conflict_not_an_internal_error() -> None:
    """Found by the saga explorer: credentials sent while a cancel ended the run reached
    the server as the run closed; its failure (type `AcceptedUpdateCompletedWorkflow`)
    was answered 500."""
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
