"""A compensation retried against a failing cloud keeps a readable last failure (issue 9).

Temporal 1.32 keeps a retrying activity's last failure only while it is under 4 KB: a
larger one is shown (in `describe`, the Web UI and the history's started event) as
"Failure exceeds size limit.", without its error code. A dropped connection or a timeout
used to carry httpx's and httpcore's exceptions and stack traces, about 6 KB encrypted.
Here `cloud.remove_device` runs on the real central worker (its interceptors, the
encrypting data converter) against a cloud that keeps failing, and the failure Temporal
recorded for the last attempt is read back from the history.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr
from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.wifi_cloud import WifiCloudActivities
from adapters.wifi_cloud import WifiCloudAdapter
from domain.activity_io import CloudDevice
from domain.errors import ErrorCode
from simulators.serving import serve_app
from simulators.wifi_cloud import (
    DEV_API_KEY,
    DEV_CLAIM_TOKEN,
    CloudConfig,
    CloudFaults,
    start_cloud_simulator,
)
from strategies.wifi_cloud import WifiCloudActivity
from worker.workers import central_worker

ATTEMPTS = 3
TEMPORAL_FAILURE_LIMIT = 4 * 1024
"""`limit.mutableStateActivityFailureSize.error`, Temporal's default."""
CLOUD_TIMEOUT = 0.3


@workflow.defn(sandboxed=False)
class RemoveFromCloud:
    """Only the compensation, retried a few times, on the central worker's queue."""

    @workflow.run
    async def run(self, queue: str, device: CloudDevice) -> None:
        await workflow.execute_activity(
            WifiCloudActivity.REMOVE_DEVICE.name,
            device,
            task_queue=queue,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=50), maximum_attempts=ATTEMPTS
            ),
        )


async def _hostile(request: web.Request) -> web.Response:
    """A cloud whose 503s carry megabytes of text."""
    body = {"error": "e" * 1_000_000, "message": "overloaded " + "m" * 5_000_000}
    return web.Response(status=503, text=json.dumps(body), content_type="application/json")


@asynccontextmanager
async def failing_cloud(kind: str) -> AsyncIterator[str]:
    if kind == "hostile":
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", _hostile)
        runner, base_url = await serve_app(app, "127.0.0.1", 0)
        try:
            yield base_url
        finally:
            await runner.cleanup()
        return
    faults = {
        "dropped": CloudFaults(drop_connections=1_000),
        "timeouts": CloudFaults(latency=CLOUD_TIMEOUT * 3),
    }[kind]
    cloud = await start_cloud_simulator(CloudConfig(faults=faults), "127.0.0.1", 0)
    try:
        yield cloud.base_url
    finally:
        await cloud.close()


RunCompensation = Callable[[str], Awaitable[list[ApplicationError]]]


@pytest.fixture
def run_compensation(temporal_client: Client) -> RunCompensation:
    async def run(kind: str) -> list[ApplicationError]:
        """Run the compensation against `kind` of failing cloud; the failures Temporal
        recorded, in history order, checked against its size limit."""
        central = f"central-{uuid.uuid4().hex[:8]}"
        starter = f"starter-{uuid.uuid4().hex[:8]}"
        async with (
            failing_cloud(kind) as base_url,
            httpx.AsyncClient(trust_env=False) as http,
        ):
            cloud = WifiCloudAdapter(http, base_url, SecretStr(DEV_API_KEY), timeout=CLOUD_TIMEOUT)
            activities = WifiCloudActivities(cloud, SecretStr(DEV_CLAIM_TOKEN)).all()
            async with (
                central_worker(temporal_client, task_queue=central, activities=activities),
                Worker(temporal_client, task_queue=starter, workflows=[RemoveFromCloud]),
            ):
                device = CloudDevice(
                    device_id=f"plug-{uuid.uuid4().hex[:8]}",
                    idempotency_key=f"provision-plug/{uuid.uuid4()}/1/remove",
                )
                handle = await temporal_client.start_workflow(
                    RemoveFromCloud.run,
                    args=[central, device],
                    id=f"remove-{uuid.uuid4().hex}",
                    task_queue=starter,
                )
                with pytest.raises(WorkflowFailureError):
                    await handle.result()
        failures = []
        async for event in handle.fetch_history_events():
            if event.HasField("activity_task_started_event_attributes"):
                started = event.activity_task_started_event_attributes
                assert started.attempt == ATTEMPTS
                recorded = started.last_failure  # the previous attempt's, as Temporal kept it
            elif event.HasField("activity_task_failed_event_attributes"):
                recorded = event.activity_task_failed_event_attributes.failure
            else:
                continue
            assert recorded.message != "Failure exceeds size limit."
            assert recorded.ByteSize() < TEMPORAL_FAILURE_LIMIT
            error = await temporal_client.data_converter.decode_failure(recorded)
            assert isinstance(error, ApplicationError)
            failures.append(error)
        assert len(failures) == 2, "the last attempt's started event and its failure"
        return failures

    return run


@pytest.mark.parametrize(
    ("kind", "code"),
    [("dropped", ErrorCode.CLOUD_UNAVAILABLE), ("timeouts", ErrorCode.CLOUD_TIMEOUT)],
)
async def test_a_compensation_retried_against_a_failing_cloud_keeps_its_error_code(
    run_compensation: RunCompensation, kind: str, code: ErrorCode
) -> None:
    previous, last = await run_compensation(kind)

    assert previous.type == code.value
    assert last.type == code.value
    assert last.details[0]["endpoint"] == "deregister_device"


async def test_a_cloud_answering_megabytes_gives_small_failures_that_keep_the_code(
    run_compensation: RunCompensation,
) -> None:
    previous, last = await run_compensation("hostile")

    assert previous.type == last.type == ErrorCode.CLOUD_UNAVAILABLE.value
    # Bodies are capped: the flood is not read, the failure names the call and status.
    assert last.message == "deregister_device: HTTP 503"
    assert "cloud_error" not in last.details[0]
