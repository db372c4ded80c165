"""An update the server aborts because a workflow task of the run failed is refused with
503 TEMPORAL_UNAVAILABLE ("try again"), not a 500.

Found by the saga explorer with worker kills (`1967870595/450`, process level): a
`forget-credentials` answered 500 INTERNAL_ERROR. Since server 1.27 the server aborts an
update in flight when the workflow task carrying it fails (a worker that sent an invalid
completion, one killed mid-task), with `WorkflowNotReady` — gRPC FAILED_PRECONDITION,
"Unable to perform workflow execution update due to unexpected workflow task failure."
The update did not take effect. Here a real workflow task fails (its update handler
upserts a search attribute the server does not know) on the real dev server.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from config.policies import load_policy_book
from domain.errors import ErrorCode
from domain.run import FORGET_CREDENTIALS_UPDATE
from services.errors import TemporalUnavailable
from services.runs import ProvisioningRuns
from strategies.catalog import build_registry

UNKNOWN_ATTRIBUTE = SearchAttributeKey.for_keyword("DevprovNoSuchAttribute")


@workflow.defn(name="RunWhoseUpdateFailsItsTask")
class RunWhoseUpdateFailsItsTask:
    """A run waiting for a person, whose update makes its workflow task fail."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update(name=FORGET_CREDENTIALS_UPDATE)
    async def forget_credentials(self) -> None:
        workflow.upsert_search_attributes([UNKNOWN_ATTRIBUTE.value_set("x")])


async def test_an_update_aborted_by_a_failed_workflow_task_is_a_503_to_try_again(
    temporal_client: Client,
) -> None:
    device_id = f"aborted-{uuid.uuid4().hex[:8]}"
    queue = f"aborted-{uuid.uuid4().hex[:8]}"
    runs = ProvisioningRuns(temporal_client, build_registry(), load_policy_book(environ={}), queue)
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[RunWhoseUpdateFailsItsTask],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await temporal_client.start_workflow(
            RunWhoseUpdateFailsItsTask.run, id=runs.workflow_id(device_id), task_queue=queue
        )
        try:
            with pytest.raises(TemporalUnavailable) as refused:
                await runs.forget_credentials(device_id)
        finally:
            await handle.terminate("test over")

    assert refused.value.code is ErrorCode.TEMPORAL_UNAVAILABLE
    assert "try again" in refused.value.detail
