"""The lifecycle of the HTTP Wi-Fi workflow on a real Temporal dev server, fake device."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import Worker

from domain.errors import ErrorCode
from domain.states import ProvisioningState as S
from tests.fakes import FakeWifiDevice
from tests.workflows.helpers import (
    http_wifi_run,
    network,
    new_device_id,
    progress,
    start_run,
    states_seen,
    wait_for_state,
)
from worker.workers import central_worker, edge_worker
from workflows import search_attributes as sa


@pytest.fixture
def device() -> FakeWifiDevice:
    return FakeWifiDevice(device_id=new_device_id())


@pytest.fixture
async def workers(temporal_client: Client, site: str, device: FakeWifiDevice) -> AsyncIterator[str]:
    """Central and edge workers for one test; yields the central task queue."""
    task_queue = f"central-{uuid.uuid4().hex[:8]}"
    central: Worker = central_worker(temporal_client, task_queue=task_queue)
    edge = edge_worker(temporal_client, site=site, activities=device.activities())
    async with central, edge:
        yield task_queue


async def test_run_with_credentials_succeeds_through_every_step(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    run = http_wifi_run(device.device_id, site, with_network=network())
    handle = await start_run(temporal_client, run, workers)

    result = await handle.result()

    assert result.state is S.SUCCEEDED
    snapshot = await progress(handle)
    assert states_seen(snapshot) == [
        S.PENDING,
        S.DETECTING,
        S.PRE_CHECK,
        S.PROVISIONING,
        S.CONFIRMING,
        S.SUCCEEDED,
    ]
    assert [e.sequence for e in snapshot.events] == list(range(1, len(snapshot.events) + 1))
    assert device.applied == ["devprov-lab"]
    assert device.resets == 0
    assert "10.77.0.9" in snapshot.message


async def test_search_attributes_follow_the_state(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    handle = await start_run(
        temporal_client, http_wifi_run(device.device_id, site, with_network=network()), workers
    )
    await handle.result()

    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(sa.PROVISIONING_STATE) == "SUCCEEDED"
    assert attributes.get(sa.DEVICE_ID) == device.device_id
    assert attributes.get(sa.ERROR_CODE) is None


async def test_pre_check_rejection_ends_in_failed_validation_with_reasons(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    device.already_provisioned = True
    handle = await start_run(
        temporal_client, http_wifi_run(device.device_id, site, with_network=network()), workers
    )

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == ErrorCode.PRE_CHECK_FAILED
    snapshot = await progress(handle)
    assert snapshot.state is S.FAILED_VALIDATION
    assert any("already provisioned" in reason for reason in snapshot.reasons)
    assert device.applied == []
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(sa.ERROR_CODE) == "PRE_CHECK_FAILED"


async def test_missing_credentials_wait_in_pending_network_until_supplied(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    handle = await start_run(temporal_client, http_wifi_run(device.device_id, site), workers)

    waiting = await wait_for_state(handle, S.PENDING_NETWORK)
    assert waiting.awaiting == ["credentials", "retry"]
    await handle.execute_update("submit_credentials", network())

    assert (await handle.result()).state is S.SUCCEEDED
    assert device.applied == ["devprov-lab"]


async def test_rejected_credentials_return_to_pending_network_then_new_ones_succeed(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    run = http_wifi_run(device.device_id, site, with_network=network("wrong-passphrase"))
    handle = await start_run(temporal_client, run, workers)

    waiting = await wait_for_state(handle, S.PENDING_NETWORK)
    assert waiting.error_code is ErrorCode.CREDENTIALS_REJECTED
    assert "refused the passphrase" in waiting.message
    await handle.execute_update("submit_credentials", network())

    assert (await handle.result()).state is S.SUCCEEDED
    assert device.applied == ["devprov-lab", "devprov-lab"]
    assert device.resets == 0


async def test_confirm_failure_rolls_the_device_back(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    device.confirm_error = ErrorCode.NETWORK_JOIN_TIMEOUT
    handle = await start_run(
        temporal_client, http_wifi_run(device.device_id, site, with_network=network()), workers
    )

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == ErrorCode.NETWORK_JOIN_TIMEOUT
    snapshot = await progress(handle)
    assert states_seen(snapshot)[-2:] == [S.ROLLING_BACK, S.ROLLED_BACK]
    assert snapshot.error_code is ErrorCode.NETWORK_JOIN_TIMEOUT
    assert device.resets == 1


async def test_cancel_during_confirm_rolls_the_device_back(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    device.block_confirm = True
    handle = await start_run(
        temporal_client, http_wifi_run(device.device_id, site, with_network=network()), workers
    )
    await wait_for_state(handle, S.CONFIRMING)

    await handle.cancel()

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    snapshot = await progress(handle)
    assert snapshot.state is S.ROLLED_BACK
    assert snapshot.error_code is ErrorCode.CANCELLED_BY_USER
    assert device.resets == 1


async def test_cancel_before_any_change_ends_cancelled_without_rollback(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    handle = await start_run(temporal_client, http_wifi_run(device.device_id, site), workers)
    await wait_for_state(handle, S.PENDING_NETWORK)

    await handle.cancel()

    with pytest.raises(WorkflowFailureError):
        await handle.result()
    snapshot = await progress(handle)
    assert snapshot.state is S.CANCELLED
    assert S.ROLLING_BACK not in states_seen(snapshot)
    assert device.resets == 0


async def test_absent_device_waits_then_proceeds_when_it_shows_up(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    device.absent_detections = 3
    handle = await start_run(
        temporal_client, http_wifi_run(device.device_id, site, with_network=network()), workers
    )

    result = await handle.result()

    assert result.state is S.SUCCEEDED
    seen = states_seen(await progress(handle))
    assert seen[:4] == [S.PENDING, S.DETECTING, S.WAITING_FOR_DEVICE, S.DETECTING]
    assert device.detections == 4


async def test_device_that_never_shows_up_fails_with_wait_timeout(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    device.absent_detections = 10_000
    run = http_wifi_run(
        device.device_id,
        site,
        with_network=network(),
        policy_env={"DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "1s"},
    )
    handle = await start_run(temporal_client, run, workers)

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == ErrorCode.DEVICE_WAIT_TIMEOUT
    snapshot = await progress(handle)
    assert snapshot.state is S.FAILED
    assert S.WAITING_FOR_DEVICE in states_seen(snapshot)


async def test_retry_while_waiting_for_device_starts_a_new_attempt(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    device.absent_detections = 10_000
    run = http_wifi_run(
        device.device_id,
        site,
        with_network=network(),
        policy_env={"DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "1m"},
    )
    handle = await start_run(temporal_client, run, workers)
    await wait_for_state(handle, S.WAITING_FOR_DEVICE)
    device.absent_detections = 0

    await handle.execute_update("retry")

    assert (await handle.result()).state is S.SUCCEEDED
    assert (await progress(handle)).attempt == 2


async def test_credentials_are_refused_once_the_device_is_being_configured(
    temporal_client: Client, workers: str, site: str, device: FakeWifiDevice
) -> None:
    device.block_confirm = True
    handle = await start_run(
        temporal_client, http_wifi_run(device.device_id, site, with_network=network()), workers
    )
    await wait_for_state(handle, S.CONFIRMING)

    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update("submit_credentials", network())

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == ErrorCode.RUN_NOT_WAITING
    device.block_confirm = False
    assert (await handle.result()).state is S.SUCCEEDED
