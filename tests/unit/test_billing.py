"""Temporal Cloud's billable actions, counted from recorded histories (bench/billing.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.billing import billable_actions, run_cost

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def _events(name: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
    return events


def test_a_happy_run_costs_its_start_its_activities_and_its_upserts() -> None:
    assert billable_actions(_events("http-wifi-happy")) == {
        "workflow started": 1,
        "activity attempt": 6,
        "search-attribute upsert": 1,
    }


def test_an_activity_retried_costs_one_action_per_attempt() -> None:
    events = _events("http-wifi-happy")
    started = next(e for e in events if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_STARTED")
    started["activityTaskStartedEventAttributes"]["attempt"] = 3  # its third attempt succeeded
    assert billable_actions(events)["activity attempt"] == 6 + 2


def test_timers_and_accepted_updates_cost_one_action_each() -> None:
    actions = billable_actions(_events("http-wifi-credentials"))
    assert actions["timer started"] == 2
    assert actions["update"] == 2


def _marker(event_id: str, workflow_task: str) -> dict[str, Any]:
    """A patch marker as Temporal records it (devprov's runs record none today)."""
    return {
        "eventId": event_id,
        "eventType": "EVENT_TYPE_MARKER_RECORDED",
        "markerRecordedEventAttributes": {
            "markerName": "core_patch",
            "workflowTaskCompletedEventId": workflow_task,
        },
    }


def test_the_markers_of_one_workflow_task_cost_one_action() -> None:
    events = _events("wifi-aws-iot-happy")
    assert "markers (one per workflow task)" not in billable_actions(events)
    one_task = [*events, _marker("900", "4"), _marker("901", "4")]
    assert billable_actions(one_task)["markers (one per workflow task)"] == 1
    two_tasks = [*one_task, _marker("902", "14")]
    assert billable_actions(two_tasks)["markers (one per workflow task)"] == 2


def test_an_upsert_of_the_version_attribute_alone_is_free() -> None:
    version_only = {
        "eventId": "5",
        "eventType": "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
        "upsertWorkflowSearchAttributesEventAttributes": {
            "workflowTaskCompletedEventId": "4",
            "searchAttributes": {"indexedFields": {"TemporalChangeVersion": {"data": "W10="}}},
        },
    }
    assert billable_actions([version_only]) == {}


def test_a_fleet_pays_two_actions_per_child() -> None:
    events = _events("fleet-cancelled")
    children = sum(
        e["eventType"] == "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED" for e in events
    )
    assert billable_actions(events)["child workflow"] == 2 * children


def test_queries_are_added_to_the_history_count() -> None:
    cost = run_cost(_events("http-wifi-happy"), queries=3)
    assert cost["billable_actions"] == 1 + 6 + 1 + 3
    assert cost["history_events"] == 42
