"""Every stage of a run leaves audit records and metrics; none carries a secret."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Replayer

from domain.errors import ErrorCode
from domain.progress import ProvisionResult
from domain.registry import RunKind
from domain.requests import ProvisionRequest
from domain.run import decommission_workflow_id_for
from strategies.http_wifi import HTTP_WIFI_DECOMMISSION
from tests.fakes import FakeWifiDevice
from tests.workflows.helpers import (
    GOOD_PASSPHRASE,
    http_wifi_run,
    network,
    new_device_id,
    start_run,
)
from worker.observability import AUDIT_LOGGER, ObservabilityInterceptor, process_worker_metrics
from worker.workers import WORKFLOW_RUNNER, central_worker, edge_worker
from workflows import search_attributes as sa
from workflows.catalog import all_workflows


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def records(self, device_id: str) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self.lines]
        return [r for r in parsed if r.get("device_id") == device_id]


@pytest.fixture
def audit() -> Iterator[Captured]:
    handler = Captured()
    logger = logging.getLogger(AUDIT_LOGGER)
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def device() -> FakeWifiDevice:
    return FakeWifiDevice(device_id=new_device_id())


@pytest.fixture
async def workers(temporal_client: Client, site: str, device: FakeWifiDevice) -> AsyncIterator[str]:
    queue = f"central-{uuid.uuid4().hex[:8]}"
    async with (
        central_worker(temporal_client, task_queue=queue),
        edge_worker(temporal_client, site=site, activities=device.activities()),
    ):
        yield queue


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_successful_run_audits_every_stage_and_state_in_order(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice, audit: Captured
) -> None:
    handle = await start_run(
        temporal_client, http_wifi_run(device.device_id, site, with_network=network()), workers
    )
    await handle.result()

    records = audit.records(device.device_id)
    stages = [(r["stage"], r["event"]) for r in records if r["kind"] == "stage"]
    assert stages == [
        ("registry", "start"),  # the claim
        ("registry", "end"),
        ("detect", "start"),
        ("detect", "end"),
        ("pre_check", "start"),
        ("pre_check", "end"),
        ("provision", "start"),
        ("provision", "end"),
        ("confirm", "start"),
        ("confirm", "end"),
        ("registry", "start"),  # the outcome
        ("registry", "end"),
    ]
    states = [r["state"] for r in records if r["kind"] == "state"]
    assert states == ["DETECTING", "PRE_CHECK", "PROVISIONING", "CONFIRMING", "SUCCEEDED"]
    ends = [r for r in records if r.get("event") == "end"]
    assert all(r["outcome"] == "ok" and r["duration_ms"] >= 0 for r in ends)
    assert all(r["strategy"] == "http-wifi" and r["site"] == site for r in records)
    assert GOOD_PASSPHRASE not in "\n".join(audit.lines)


async def test_replaying_a_run_records_none_of_its_state_changes_again(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice, audit: Captured
) -> None:
    """A worker that replays a run's history (after a restart, a cache eviction, an SRE's
    replay) runs its workflow code again: its state changes must not be counted twice."""
    handle = await start_run(
        temporal_client, http_wifi_run(device.device_id, site, with_network=network()), workers
    )
    await handle.result()
    history = await handle.fetch_history()
    written = len(audit.records(device.device_id))
    succeeded = metric(
        "devprov_runs_finished_total", strategy="http-wifi", state="SUCCEEDED", error_code=""
    )
    detecting = metric("devprov_state_transitions_total", strategy="http-wifi", state="DETECTING")

    replayer = Replayer(
        workflows=all_workflows(),
        data_converter=temporal_client.data_converter,
        interceptors=[ObservabilityInterceptor(process_worker_metrics())],
        workflow_runner=WORKFLOW_RUNNER,
    )
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)

    assert replayed.replay_failure is None
    assert len(audit.records(device.device_id)) == written
    assert (
        metric(
            "devprov_runs_finished_total", strategy="http-wifi", state="SUCCEEDED", error_code=""
        )
        == succeeded
    )
    assert metric("devprov_state_transitions_total", strategy="http-wifi", state="DETECTING") == (
        detecting
    )


async def test_rolled_back_run_audits_the_failure_code_and_the_rollback(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice, audit: Captured
) -> None:
    device.confirm_error = ErrorCode.NETWORK_JOIN_TIMEOUT
    before = metric(
        "devprov_runs_finished_total",
        strategy="http-wifi",
        state="ROLLED_BACK",
        error_code="NETWORK_JOIN_TIMEOUT",
    )
    handle = await start_run(
        temporal_client, http_wifi_run(device.device_id, site, with_network=network()), workers
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()

    records = audit.records(device.device_id)
    confirm_end = next(
        r for r in records if r.get("stage") == "confirm" and r.get("event") == "end"
    )
    assert confirm_end["outcome"] == "error"
    assert confirm_end["error_code"] == "NETWORK_JOIN_TIMEOUT"
    assert [r["stage"] for r in records if r.get("event") == "end"][-2:] == ["rollback", "registry"]
    assert [r["state"] for r in records if r["kind"] == "state"][-2:] == [
        "ROLLING_BACK",
        "ROLLED_BACK",
    ]
    after = metric(
        "devprov_runs_finished_total",
        strategy="http-wifi",
        state="ROLLED_BACK",
        error_code="NETWORK_JOIN_TIMEOUT",
    )
    assert after == before + 1
    assert (
        metric(
            "devprov_stage_attempts_total",
            strategy="http-wifi",
            stage="confirm",
            outcome="error",
            error_code="NETWORK_JOIN_TIMEOUT",
        )
        >= 1
    )


async def test_the_web_ui_labels_the_undo_steps_of_a_run_and_no_other_activity(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    device.confirm_error = ErrorCode.NETWORK_JOIN_TIMEOUT
    handle = await start_run(
        temporal_client, http_wifi_run(device.device_id, site, with_network=network()), workers
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()

    converter = temporal_client.data_converter
    scheduled = [
        event
        async for event in handle.fetch_history_events()
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    summaries = {
        event.activity_task_scheduled_event_attributes.activity_type.name: (
            await converter.decode([event.user_metadata.summary], [str])
        )[0]
        if event.user_metadata.HasField("summary")
        else None
        for event in scheduled
    }
    assert summaries == {
        "registry.claim": None,
        "http_wifi.detect": None,
        "http_wifi.read_state": None,
        "http_wifi.apply_network": None,
        "http_wifi.confirm_joined": None,
        "http_wifi.reset": "rollback: http_wifi.reset",
        "registry.record_outcome": None,
    }


async def test_a_decommission_is_audited_and_counted_like_a_provisioning_run(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice, audit: Captured
) -> None:
    provision = http_wifi_run(device.device_id, site, with_network=network())
    await (await start_run(temporal_client, provision, workers)).result()
    audit.lines.clear()
    run = provision.model_copy(
        update={
            "kind": RunKind.DECOMMISSION,
            "request": ProvisionRequest(device=provision.request.device),
        }
    )
    finished = metric(
        "devprov_runs_finished_total", strategy="http-wifi", state="SUCCEEDED", error_code=""
    )

    handle = await temporal_client.start_workflow(
        HTTP_WIFI_DECOMMISSION.workflow,
        run,
        id=decommission_workflow_id_for(device.device_id),
        task_queue=workers,
        result_type=ProvisionResult,
        search_attributes=sa.initial_search_attributes(run),
    )
    await handle.result()

    records = audit.records(device.device_id)
    stages = [(r["stage"], r["event"]) for r in records if r["kind"] == "stage"]
    assert stages == [
        ("registry", "start"),  # the decommission's claim
        ("registry", "end"),
        ("detect", "start"),
        ("detect", "end"),
        ("rollback", "start"),  # the factory reset
        ("rollback", "end"),
        ("rollback", "start"),  # the check that it is in set-up mode
        ("rollback", "end"),
        ("registry", "start"),  # the outcome
        ("registry", "end"),
    ]
    states = [r for r in records if r["kind"] == "state"]
    assert [r["state"] for r in states] == ["DETECTING", "PRE_CHECK", "ROLLING_BACK", "SUCCEEDED"]
    assert {r["run_kind"] for r in states} == {"decommission"}
    assert {r["workflow_id"] for r in records} == {f"decommission-{device.device_id}"}
    assert device.resets == 1
    assert (
        metric(
            "devprov_runs_finished_total", strategy="http-wifi", state="SUCCEEDED", error_code=""
        )
        == finished + 1
    )
    described = await handle.describe()
    attributes = described.typed_search_attributes
    assert attributes.get(sa.DEVICE_ID) == device.device_id
    assert attributes.get(sa.STRATEGY) == "http-wifi"
    assert attributes.get(sa.PROVISIONING_STATE) == "SUCCEEDED"
    assert GOOD_PASSPHRASE not in "\n".join(audit.lines)
