"""A fleet's state stays bounded however many devices fail (issue 17, API4).

Every failed device's full record used to be kept in the fleet workflow, carried through
continue-as-new and returned: past about 5,000 to 7,000 failures the payload passed
Temporal's 2 MB limit and the fleet died with devices still queued. The fleet now keeps
counts, the last failures and, to retry them, the failed devices themselves.

Children here are a trivial workflow that fails at once with a long message, so that
only the fleet's own bookkeeping is measured. `make chaos` runs 10,000 of them.
"""

from __future__ import annotations

import os
import uuid

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from domain.errors import ErrorCode
from domain.fleet import FleetLimits, FleetResult, FleetRun, FleetStrategy
from domain.progress import ProvisionResult
from domain.run import ProvisionRun
from tests.workflows.test_fleet import plan, start_fleet
from workflows.fleet import FleetProvisioningWorkflow

FAILURE_MESSAGE_BYTES = 1_000
PAYLOAD_LIMIT = 2 * 1024 * 1024
"""Temporal's default limit on one payload (blob)."""


@workflow.defn(name="TrivialFailingProvisioning")
class TrivialFailingProvisioning:
    """A device run that fails at once, with a long message as real failures may have."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        raise ApplicationError(
            f"{run.device_id}: " + "x" * FAILURE_MESSAGE_BYTES,
            type=ErrorCode.NETWORK_JOIN_TIMEOUT.value,
            non_retryable=True,
        )


def failing_fleet(site: str, devices: int, generation_size: int) -> FleetRun:
    ids = [f"fb-{uuid.uuid4().hex[:6]}-{n:05d}" for n in range(devices)]
    run = plan(
        site,
        ids,
        FleetLimits(max_in_flight=200, per_site=200, per_vendor=200),
        generation_size=generation_size,
    )
    strategies = {
        name: FleetStrategy(workflow="TrivialFailingProvisioning", policy=strategy.policy)
        for name, strategy in run.strategies.items()
    }
    return run.model_copy(update={"strategies": strategies})


async def run_failing_fleet(
    client: Client, site: str, devices: int, generation_size: int
) -> tuple[FleetResult, list[int]]:
    """The fleet's result and the size of each state it carried over."""
    queue = f"fleet-bounded-{uuid.uuid4().hex[:8]}"
    run = failing_fleet(site, devices, generation_size)
    async with Worker(
        client,
        task_queue=queue,
        workflows=[FleetProvisioningWorkflow, TrivialFailingProvisioning],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_concurrent_workflow_tasks=50,
    ):
        handle = await start_fleet(client, run, queue)
        result = await handle.result()
    carried = []
    async for execution in client.list_workflows(f"WorkflowId = '{handle.id}'"):
        one_run = client.get_workflow_handle(handle.id, run_id=execution.run_id)
        history = await one_run.fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                attributes = event.workflow_execution_continued_as_new_event_attributes
                carried.append(attributes.input.ByteSize())
    return result, carried


async def test_a_fleet_of_failing_devices_carries_counts_not_every_failure(
    temporal_client: Client, site: str
) -> None:
    devices = int(os.environ.get("DEVPROV_FLEET_FAILURES", 300))
    result, carried = await run_failing_fleet(temporal_client, site, devices, 100)

    assert len(carried) >= 2, "the fleet did not continue as new"
    # Each carried state holds the queue and the failed devices (to retry them), not a
    # record of every failure: far less than a record per failure would take.
    assert max(carried) < devices * FAILURE_MESSAGE_BYTES / 4, carried
    assert max(carried) < PAYLOAD_LIMIT
    assert result.failed == devices
    assert result.failures_by_code == {"NETWORK_JOIN_TIMEOUT": devices}
    assert len(result.failures) <= 100
    assert len(result.retry_device_ids()) == devices
