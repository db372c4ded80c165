"""Temporal Cloud billable actions of one workflow run, counted from its history.

The rules are Temporal Cloud's definition of an Action, "Temporal Cloud Actions"
(https://docs.temporal.io/cloud/actions; source: temporalio/documentation,
docs/evaluate/temporal-cloud/actions.mdx, read 2026-12-03). What a history shows:

- workflow started (client start, Continue-As-New, child start): 1;
- timer started (including timers the SDK starts for timeouts): 1 each;
- search-attribute upsert: 1 per `UpsertWorkflowSearchAttributes` command, whatever
  the number of attributes in it; attributes given at start are free, and so is the
  `TemporalChangeVersion` attribute the SDK writes for `workflow.patched()` (an upsert
  that holds only it costs nothing);
- signal received, or sent from a workflow: 1 each;
- update accepted: 1 each (a rejected update also costs 1 but leaves no event);
- markers (side effects, local activities, version markers of `workflow.patched()`):
  every `RecordMarker` of one workflow task counts once together;
- child workflow: 2 when the parent records the intent to start it (its start and its
  execution);
- activity started or retried: 1 per attempt (the history keeps the last attempt's
  `ActivityTaskStarted`, whose `attempt` says how many there were);
- workflow-execution options updated, Nexus operation scheduled or cancel requested:
  1 each.

Not in a history, so not counted here: queries (1 each, counted by the benchmark from
the API's progress hub), activity heartbeats that reach the server, rejected updates,
workflow resets, schedules, exports. Cloud's own estimate has the same gaps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

VERSION_ATTRIBUTE = "TemporalChangeVersion"
"""Written by the SDK for `workflow.patched()`; exempt from billing."""

_ONE_ACTION = {
    "WORKFLOW_EXECUTION_STARTED": "workflow started",
    "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "workflow started",
    "TIMER_STARTED": "timer started",
    "WORKFLOW_EXECUTION_SIGNALED": "signal",
    "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED": "signal",
    "WORKFLOW_EXECUTION_UPDATE_ACCEPTED": "update",
    "WORKFLOW_EXECUTION_OPTIONS_UPDATED": "options updated",
    "NEXUS_OPERATION_SCHEDULED": "nexus operation",
    "NEXUS_OPERATION_CANCEL_REQUESTED": "nexus operation",
}

Event = Mapping[str, Any]


def _event_type(event: Event) -> str:
    return str(event["eventType"]).removeprefix("EVENT_TYPE_")


def _attributes(event: Event) -> Mapping[str, Any]:
    for key, value in event.items():
        if key.endswith("EventAttributes") and isinstance(value, Mapping):
            return value
    return {}


def billable_actions(events: Sequence[Event]) -> Counter[str]:
    """Billable actions of one run's history (its `events`, as `WorkflowHistory.to_json_dict()`
    or a recorded `tests/histories/*.json` holds them), by kind."""
    actions: Counter[str] = Counter()
    marker_tasks: set[str] = set()
    for event in events:
        kind = _event_type(event)
        attributes = _attributes(event)
        if kind in _ONE_ACTION:
            actions[_ONE_ACTION[kind]] += 1
        elif kind == "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES":
            fields = attributes.get("searchAttributes", {}).get("indexedFields", {})
            if set(fields) - {VERSION_ATTRIBUTE}:
                actions["search-attribute upsert"] += 1
        elif kind == "MARKER_RECORDED":
            marker_tasks.add(str(attributes.get("workflowTaskCompletedEventId", event["eventId"])))
        elif kind == "START_CHILD_WORKFLOW_EXECUTION_INITIATED":
            actions["child workflow"] += 2
        elif kind == "ACTIVITY_TASK_STARTED":
            actions["activity attempt"] += int(attributes.get("attempt", 1))
    if marker_tasks:
        actions["markers (one per workflow task)"] = len(marker_tasks)
    return actions


def run_cost(events: Sequence[Event], queries: int = 0) -> dict[str, object]:
    """Billable actions (with `queries` made while the run was followed, which no history
    shows) and history events of one run."""
    actions = billable_actions(events)
    if queries:
        actions["query"] = queries
    return {
        "billable_actions": sum(actions.values()),
        "by_kind": dict(sorted(actions.items())),
        "history_events": len(events),
    }
