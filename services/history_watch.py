"""When a run's workflow code has run: Temporal's history long poll, as a change feed.

A run's progress changes only inside a workflow task: its state is what the last one
left in the worker's memory, read by the `progress` query. The server records each
workflow task's end in the run's history and answers a history long poll
(`wait_new_event`) as soon as new events are written, so a follower learns that
something may have changed the moment it may have — without querying to find out.
Reading a history is not a billable action on Temporal Cloud; queries are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import ServiceClient

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

    @classmethod
    async def over_own_connection(cls, client: Client) -> HistoryWatch:
        """A watch over a Temporal connection of its own, opened at its first long poll:
        it holds one long poll per followed run, which must neither wait behind nor hold
        up `client`'s starts and queries where something between the API and Temporal
        caps the streams of a connection (proxies commonly allow 100)."""
        service = await ServiceClient.connect(
            dataclasses.replace(client.service_client.config, lazy=True)
        )
        return cls(
            Client(service, namespace=client.namespace, data_converter=client.data_converter)
        )

    async def changes(self, workflow_id: str, run_id: str | None = None) -> AsyncIterator[None]:
        """Yield once for each workflow task the run completes, and when it closes;
        first for those already in its history, then as they happen. Ends when the run
        closes. Raises the SDK's RPC errors (e.g. the run does not exist)."""
        handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
        async for event in handle.fetch_history_events(wait_new_event=True, skip_archival=True):
            if event.event_type in CHANGE_EVENTS:
                yield
