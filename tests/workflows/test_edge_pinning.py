"""Edge pinning: the gateway that detects a device runs every later step of its run;
and a step that no edge worker takes (the pinned gateway, or any of the site) never holds
a run forever."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.worker import Worker

from domain.progress import ProgressSnapshot, ProvisionResult
from domain.run import edge_task_queue, host_task_queue
from domain.states import ProvisioningState as S
from tests.fakes import FakeWifiDevice
from tests.workflows.helpers import (
    http_wifi_run,
    network,
    new_device_id,
    progress,
    start_run,
    wait_for_state,
)
from worker.workers import edge_worker

SITE_QUEUE_POLICY = {
    "DEVPROV_POLICY__DEFAULTS__WAITS__SITE_WORKER_TIMEOUT": "2s",
    "DEVPROV_POLICY__DEFAULTS__WAITS__MAX_FAILOVERS": "1",
}
PINNING_POLICY = {
    "DEVPROV_POLICY__DEFAULTS__WAITS__PINNED_WORKER_TIMEOUT": "1s",
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "30s",
    "DEVPROV_POLICY__DEFAULTS__STEPS__CONFIRM__HEARTBEAT": "1s",
}


async def gateway_workers(
    client: Client, site: str, host: str, device: FakeWifiDevice
) -> list[Worker]:
    """The two workers of one gateway: the site's shared queue and its own.

    Each gateway gets its own connection, as separate gateway processes would (the SDK
    refuses two workers of one connection on the same task queue).
    """
    client = await Client.connect(
        client.service_client.config.target_host,
        namespace=client.namespace,
        data_converter=client.data_converter,
    )
    queue = host_task_queue(site, host)
    activities = device.activities(gateway=queue)
    return [
        edge_worker(
            client,
            task_queue=task_queue,
            activities=activities,
            graceful_shutdown_timeout=timedelta(0),
        )
        for task_queue in (edge_task_queue(site), queue)
    ]


def site_worker(client: Client, site: str, device: FakeWifiDevice) -> Worker:
    """A gateway that polls only the site's shared queue (its detection pins nothing)."""
    return edge_worker(
        client,
        task_queue=edge_task_queue(site),
        activities=device.activities(),
        graceful_shutdown_timeout=timedelta(0),
    )


async def ended(handle: WorkflowHandle[Any, ProvisionResult]) -> ProgressSnapshot:
    """The last snapshot of a run once it ended, however it ended."""
    with contextlib.suppress(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), 60)
    return await progress(handle)


async def test_every_step_after_detection_runs_on_the_detecting_gateway(
    temporal_client: Client, central: str, site: str
) -> None:
    device = FakeWifiDevice(device_id=new_device_id())
    gw1 = await gateway_workers(temporal_client, site, "gw1", device)
    gw2 = await gateway_workers(temporal_client, site, "gw2", device)
    async with gw1[0], gw1[1], gw2[0], gw2[1]:
        run = http_wifi_run(device.device_id, site, with_network=network())
        handle = await start_run(temporal_client, run, central)
        assert (await handle.result()).state is S.SUCCEEDED

    detections = [gw for name, gw in device.calls if name.endswith(".detect")]
    later = [gw for name, gw in device.calls if not name.endswith(".detect")]
    assert len(later) == 3
    assert set(later) == {detections[-1]}


async def test_run_fails_over_when_its_gateway_dies_and_rolls_back_through_another(
    temporal_client: Client, central: str, site: str
) -> None:
    device = FakeWifiDevice(device_id=new_device_id(), block_confirm=True)
    gw1_queue, gw2_queue = host_task_queue(site, "gw1"), host_task_queue(site, "gw2")
    device.audible_from = {gw1_queue}
    gw1 = await gateway_workers(temporal_client, site, "gw1", device)
    gw2 = await gateway_workers(temporal_client, site, "gw2", device)
    run = http_wifi_run(device.device_id, site, with_network=network(), policy_env=PINNING_POLICY)
    async with gw2[0], gw2[1]:
        async with gw1[0], gw1[1]:
            handle = await start_run(temporal_client, run, central)
            await wait_for_state(handle, S.CONFIRMING)
        # gw1 is gone mid-confirm; only gw2 hears the device from now on.
        device.audible_from = {gw2_queue}
        device.block_confirm = False
        result = await asyncio.wait_for(handle.result(), 60)

    assert result.state is S.SUCCEEDED
    snapshot = await progress(handle)
    assert snapshot.attempt == 2
    assert any("stopped answering" in e.message for e in snapshot.events)
    assert ("http_wifi.reset", gw2_queue) in device.calls
    second_attempt = device.calls[device.calls.index(("http_wifi.reset", gw2_queue)) + 1 :]
    assert {gw for _, gw in second_attempt if gw is not None} == {gw2_queue}


# --- the site's shared queue -----------------------------------------------------------


async def test_a_run_on_a_site_without_any_gateway_ends_with_edge_worker_lost(
    temporal_client: Client, central: str, site: str
) -> None:
    """Its detection waits `site_worker_timeout`, fails over `max_failovers` times, then
    the run ends, naming the site: it does not wait forever for a gateway."""
    device = FakeWifiDevice(device_id=new_device_id())
    run = http_wifi_run(
        device.device_id, site, with_network=network(), policy_env=SITE_QUEUE_POLICY
    )
    handle = await start_run(temporal_client, run, central)

    final = await ended(handle)

    assert final.state is S.FAILED
    assert final.error_code == "EDGE_WORKER_LOST"
    assert f"no edge worker of site {site} took the step" in final.message
    assert "after 1 failover(s)" in final.message
    assert final.attempt == 2
    assert device.calls == []


async def test_a_step_no_gateway_of_the_site_takes_fails_over_to_one_that_comes_back(
    temporal_client: Client, central: str, site: str
) -> None:
    """The gateway went away while the run waited for credentials: provisioning sat on
    the site's queue with nobody to take it. It fails over, the gateway that comes back
    undoes the attempt and provisions the device in a second one."""
    device = FakeWifiDevice(device_id=new_device_id())
    run = http_wifi_run(device.device_id, site, policy_env=SITE_QUEUE_POLICY)
    async with site_worker(temporal_client, site, device):
        handle = await start_run(temporal_client, run, central)
        await wait_for_state(handle, S.PENDING_NETWORK)
    await handle.execute_update("submit_credentials", network())
    await wait_for_state(handle, S.ROLLING_BACK)
    async with site_worker(temporal_client, site, device):
        final = await ended(handle)

    assert final.state is S.SUCCEEDED, final.message
    assert final.attempt == 2
    assert any(f"no edge worker of site {site}" in e.message for e in final.events)
    assert device.applied == ["devprov-lab"]  # the first provisioning never reached it
    assert device.configured_ssid == "devprov-lab"
    assert device.resets == 1  # the undo step of the lost attempt ran on the new gateway


async def test_an_undo_step_no_gateway_takes_is_a_named_leftover(
    temporal_client: Client, central: str, site: str
) -> None:
    """No gateway comes back: the undo step of the lost attempt is not done, and the run
    says so (ROLLBACK_FAILED, the step named) rather than waiting for one forever."""
    device = FakeWifiDevice(device_id=new_device_id())
    run = http_wifi_run(device.device_id, site, policy_env=SITE_QUEUE_POLICY)
    async with site_worker(temporal_client, site, device):
        handle = await start_run(temporal_client, run, central)
        await wait_for_state(handle, S.PENDING_NETWORK)
    calls_before = list(device.calls)
    await handle.execute_update("submit_credentials", network())

    final = await ended(handle)

    assert final.state is S.FAILED
    assert final.error_code == "ROLLBACK_FAILED"
    assert final.leftovers == ["undo provision"]
    assert device.calls == calls_before
