"""The change feed of a run (`services.history_watch`), on the real dev server: one
report per workflow task the run completes, as it completes it, and the end when the
run closes."""

from __future__ import annotations

import asyncio
import uuid

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from services.history_watch import HistoryWatch


@workflow.defn(name="RunMovedBySignals")
class RunMovedBySignals:
    """Moves one step per signal; ends after the third."""

    def __init__(self) -> None:
        self.steps = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.steps >= 3)
        return self.steps

    @workflow.signal
    def step(self) -> None:
        self.steps += 1


async def _next(changes: asyncio.Queue[str]) -> str:
    return await asyncio.wait_for(changes.get(), timeout=20)


async def test_the_feed_reports_each_workflow_task_as_it_ends_and_stops_with_the_run(
    temporal_client: Client,
) -> None:
    queue = f"watch-{uuid.uuid4().hex[:8]}"
    reports: asyncio.Queue[str] = asyncio.Queue()

    watch = await HistoryWatch.over_own_connection(temporal_client)

    async def follow(workflow_id: str) -> None:
        async for _ in watch.changes(workflow_id):
            reports.put_nowait("changed")
        reports.put_nowait("ended")

    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[RunMovedBySignals],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await temporal_client.start_workflow(
            RunMovedBySignals.run, id=f"watched-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        follower = asyncio.create_task(follow(handle.id))
        assert await _next(reports) == "changed"  # its first workflow task
        await asyncio.sleep(0.3)
        assert reports.empty()  # a run waiting for a person reports nothing

        await handle.signal(RunMovedBySignals.step)
        assert await _next(reports) == "changed"  # as the signal's workflow task ends
        await asyncio.sleep(0.3)
        assert reports.empty()

        await handle.signal(RunMovedBySignals.step)
        await handle.signal(RunMovedBySignals.step)
        assert await handle.result() == 3
        seen = [await _next(reports)]
        while seen[-1] != "ended":
            seen.append(await _next(reports))
        await follower

    # One or two tasks for the two signals, then the run's close; the feed ends with it.
    assert seen[-2:] == ["changed", "ended"]
    assert 2 <= seen.count("changed") <= 3
