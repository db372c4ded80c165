"""Fleet provisioning: child runs per device, bounded concurrency, failures, cancel."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from config.policies import load_policy_book
from domain.errors import ErrorCode
from domain.fleet import (
    FLEET_PROGRESS_QUERY,
    DeviceOutcome,
    FleetLimits,
    FleetRequest,
    FleetResult,
    FleetRun,
    FleetSnapshot,
    fleet_workflow_id,
)
from domain.run import workflow_id_for
from strategies.catalog import build_registry
from strategies.fleet_plan import plan_fleet
from tests.fakes import FakeWifiFleet
from tests.workflows.helpers import FAST_POLICY_ENV, GOOD_PASSPHRASE
from worker.workers import edge_worker
from workflows import search_attributes as sa


@pytest.fixture
def fleet() -> FakeWifiFleet:
    return FakeWifiFleet()


def plan(site: str, device_ids: list[str], limits: FleetLimits, **run: Any) -> FleetRun:
    request = FleetRequest.model_validate(
        {
            "template": {
                "type": "wifi-relay",
                "vendor": "shelly",
                "capabilities": ["wifi", "http-rpc"],
                "site": site,
            },
            "devices": [{"device_id": d} for d in device_ids],
            "network": {"ssid": "devprov-lab", "passphrase": GOOD_PASSPHRASE},
            "limits": limits.model_dump(),
        }
    )
    book = load_policy_book(environ=FAST_POLICY_ENV)
    planned = plan_fleet(f"f-{uuid.uuid4().hex[:8]}", request, build_registry(), book.for_strategy)
    return planned.model_copy(update=run)


async def start_fleet(
    client: Client, run: FleetRun, central: str
) -> WorkflowHandle[Any, FleetResult]:
    # Children go to the central queue of the fleet's own worker in these tests.
    return await client.start_workflow(
        "FleetProvisioning",
        run,
        id=fleet_workflow_id(run.fleet_id),
        task_queue=central,
        result_type=FleetResult,
    )


async def fleet_progress(handle: WorkflowHandle[Any, FleetResult]) -> FleetSnapshot:
    snapshot: FleetSnapshot = await handle.query(FLEET_PROGRESS_QUERY, result_type=FleetSnapshot)
    return snapshot


async def test_fleet_provisions_every_device_and_reports_failures_with_codes(
    temporal_client: Client, central: str, site: str, fleet: FakeWifiFleet
) -> None:
    prefix = uuid.uuid4().hex[:6]
    ids = [f"fl-{prefix}-{n:02d}" for n in range(20)]
    for n, device_id in enumerate(ids):
        fleet.add(device_id, confirm_error=ErrorCode.NETWORK_JOIN_TIMEOUT if n % 10 == 0 else None)
    run = plan(site, ids, FleetLimits(max_in_flight=8, per_site=4, per_vendor=8))
    async with edge_worker(temporal_client, site=site, activities=fleet.activities()):
        handle = await start_fleet(temporal_client, run, central)
        result = await handle.result()

    assert result.succeeded == 18
    assert sorted(f.device_id for f in result.failures) == [ids[0], ids[10]]
    assert {f.error_code for f in result.failures} == {ErrorCode.NETWORK_JOIN_TIMEOUT}
    assert fleet.peak_active <= 4
    snapshot = await fleet_progress(handle)
    assert snapshot.counts[DeviceOutcome.SUCCEEDED] == 18
    assert snapshot.failures_by_code == {"NETWORK_JOIN_TIMEOUT": 2}
    child = await temporal_client.get_workflow_handle(workflow_id_for(ids[1])).describe()
    assert child.typed_search_attributes.get(sa.FLEET_ID) == run.fleet_id


async def test_fleet_continues_as_new_to_bound_its_history(
    temporal_client: Client, central: str, site: str, fleet: FakeWifiFleet
) -> None:
    ids = [f"fl-{uuid.uuid4().hex[:6]}-{n}" for n in range(12)]
    for device_id in ids:
        fleet.add(device_id)
    run = plan(site, ids, FleetLimits(max_in_flight=4, per_site=4), generation_size=5)
    async with edge_worker(temporal_client, site=site, activities=fleet.activities()):
        handle = await start_fleet(temporal_client, run, central)
        result = await handle.result()

    assert result.succeeded == 12
    snapshot = await fleet_progress(handle)
    assert snapshot.generation == 3
    assert sum(1 for d in fleet.devices.values() if d.applied) == 12


async def test_cancelling_a_fleet_rolls_back_the_runs_it_started(
    temporal_client: Client, central: str, site: str, fleet: FakeWifiFleet
) -> None:
    ids = [f"fl-{uuid.uuid4().hex[:6]}-{n}" for n in range(6)]
    for device_id in ids:
        fleet.add(device_id, block_confirm=True)
    run = plan(site, ids, FleetLimits(max_in_flight=2, per_site=2))
    async with edge_worker(temporal_client, site=site, activities=fleet.activities()):
        handle = await start_fleet(temporal_client, run, central)
        async with asyncio.timeout(20):
            while (await fleet_progress(handle)).counts[DeviceOutcome.RUNNING] < 2:
                await asyncio.sleep(0.1)
        while sum(1 for d in fleet.devices.values() if d.applied) < 2:
            await asyncio.sleep(0.1)

        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()

    snapshot = await fleet_progress(handle)
    assert snapshot.state == "CANCELLED"
    assert snapshot.counts[DeviceOutcome.CANCELLED] == 6
    rolled_back = [d for d in fleet.devices.values() if d.resets]
    assert len(rolled_back) == 2
    assert all(d.applied for d in rolled_back)


async def test_failed_devices_can_be_retried_while_the_fleet_runs(
    temporal_client: Client, central: str, site: str, fleet: FakeWifiFleet
) -> None:
    ids = [f"fl-{uuid.uuid4().hex[:6]}-{n}" for n in range(3)]
    flaky = fleet.add(ids[0], confirm_error=ErrorCode.NETWORK_JOIN_TIMEOUT)
    fleet.add(ids[1])
    fleet.add(ids[2], block_confirm=True)
    run = plan(site, ids, FleetLimits(max_in_flight=3, per_site=3))
    async with edge_worker(temporal_client, site=site, activities=fleet.activities()):
        handle = await start_fleet(temporal_client, run, central)
        async with asyncio.timeout(20):
            while (await fleet_progress(handle)).counts[DeviceOutcome.FAILED] < 1:
                await asyncio.sleep(0.1)
        flaky.confirm_error = None

        await handle.execute_update("retry_failed", [ids[0]])
        fleet.devices[ids[2]].block_confirm = False
        result = await handle.result()

    assert result.succeeded == 3
    assert result.failures == []
