"""When a run's workflow code has run: Temporal's history long poll, as a change feed.

A run's progress changes only inside a workflow task: its state is what the last one
left in the worker's memory, read by the `progress` query. The server records each
workflow task's end in the run's history and answers a history long poll
(`wait_new_event`) as soon as new events are written, so a follower learns that
something may have changed the moment it may have — without querying to find out.
Reading a history is not a billable action on Temporal Cloud; queries are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

CHANGE_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)
"""The events after which a query may answer something new: a workflow task done (the
workflow code ran), or the run closed."""


class HistoryWatch:
    """The workflow-task ends of runs, as they are written (`changes`)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def changes(self, workflow_id: str, run_id: str | None = None) -> AsyncIterator[None]:
        """Yield once for each workflow task the run completes, and when it closes;
        first for those already in its history, then as they happen. Ends when the run
        closes. Raises the SDK's RPC errors (e.g. the run does not exist)."""
        handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
        async for event in handle.fetch_history_events(wait_new_event=True, skip_archival=True):
            if event.event_type in CHANGE_EVENTS:
                yield
