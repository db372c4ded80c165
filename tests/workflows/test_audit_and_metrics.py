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

from domain.errors import ErrorCode
from tests.fakes import FakeWifiDevice
from tests.workflows.helpers import (
    GOOD_PASSPHRASE,
    http_wifi_run,
    network,
    new_device_id,
    start_run,
)
from worker.observability import AUDIT_LOGGER
from worker.workers import central_worker, edge_worker


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
