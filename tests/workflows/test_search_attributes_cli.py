"""Ops find waiting runs by search attribute, with the `temporal` CLI and `devprov runs list`.

Visibility records what people act on or filter by (`VisibleState`): IN_PROGRESS while
a run moves on its own, the waiting states, ROLLING_BACK and the final state.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import SearchAttributePair
from temporalio.testing import WorkflowEnvironment

from cli.__main__ import run as devprov
from domain.run import workflow_id_for
from domain.states import ProvisioningState as S
from domain.states import VisibleState
from services.run_listing import RunFilter, list_runs
from strategies.http_wifi import HTTP_WIFI_SPEC
from tests.conftest import TEST_KEY_RING
from tests.fakes import FakeWifiDevice
from tests.workflows.helpers import http_wifi_run, network, new_device_id, start_run, wait_for_state
from worker.workers import central_worker, edge_worker
from workflows import search_attributes as sa


@pytest.fixture
async def queue(temporal_client: Client) -> AsyncIterator[str]:
    name = f"central-{uuid.uuid4().hex[:8]}"
    async with central_worker(temporal_client, task_queue=name):
        yield name


async def temporal_list(env: WorkflowEnvironment, query: str) -> list[str]:
    process = await asyncio.create_subprocess_exec(
        "temporal",
        "workflow",
        "list",
        "--address",
        env.client.service_client.config.target_host,
        "--query",
        query,
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    return [row["execution"]["workflowId"] for row in json.loads(out or b"[]")]


async def eventually_listed(env: WorkflowEnvironment, query: str, workflow_id: str) -> None:
    # Visibility is eventually consistent: the attribute shows up shortly after the upsert.
    async with asyncio.timeout(15):
        while workflow_id not in await temporal_list(env, query):
            await asyncio.sleep(0.2)


async def test_each_waiting_state_is_queryable_with_the_temporal_cli(
    temporal_env: WorkflowEnvironment, queue: str, site: str
) -> None:
    client = temporal_env.client
    absent = FakeWifiDevice(device_id=new_device_id(), absent_detections=10_000)
    silent = FakeWifiDevice(device_id=new_device_id())
    async with edge_worker(client, site=site, activities=absent.activities()):
        waiting_device = await start_run(
            client,
            http_wifi_run(
                absent.device_id,
                site,
                with_network=network(),
                policy_env={"DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "5m"},
            ),
            queue,
        )
        await wait_for_state(waiting_device, S.WAITING_FOR_DEVICE)
        await eventually_listed(
            temporal_env,
            f'ProvisioningState="WAITING_FOR_DEVICE" AND DeviceId="{absent.device_id}"',
            waiting_device.id,
        )
        await waiting_device.terminate("test done")
    async with edge_worker(client, site=site, activities=silent.activities()):
        waiting_network = await start_run(client, http_wifi_run(silent.device_id, site), queue)
        await wait_for_state(waiting_network, S.PENDING_NETWORK)
        await eventually_listed(
            temporal_env,
            f'ProvisioningState="PENDING_NETWORK" AND Site="{site}"',
            waiting_network.id,
        )
        await waiting_network.terminate("test done")


async def test_devprov_runs_list_filters_by_state_and_site(
    temporal_env: WorkflowEnvironment,
    queue: str,
    site: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = temporal_env.client
    device = FakeWifiDevice(device_id=new_device_id())
    async with edge_worker(client, site=site, activities=device.activities()):
        handle = await start_run(
            client, http_wifi_run(device.device_id, site, with_network=network()), queue
        )
        await handle.result()
    query = f'ProvisioningState="SUCCEEDED" AND Site="{site}"'
    await eventually_listed(temporal_env, query, handle.id)
    monkeypatch.setitem(
        os.environ, "DEVPROV_TEMPORAL_ADDRESS", client.service_client.config.target_host
    )
    monkeypatch.setitem(os.environ, "DEVPROV_CODEC_KEYS", TEST_KEY_RING.dump())

    status = await devprov(["runs", "list", "--state", "SUCCEEDED", "--site", site, "--json"])

    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 0
    assert [(r["workflow_id"], r["state"], r["strategy"]) for r in rows] == [
        (handle.id, "SUCCEEDED", "http-wifi")
    ]


async def test_a_happy_run_writes_visibility_once_when_it_ends_and_records_no_marker(
    temporal_env: WorkflowEnvironment, queue: str, site: str
) -> None:
    """Each upsert and each marker is a billable action on Temporal Cloud (a workflow
    patch costs both: a marker and the SDK's `TemporalChangeVersion` upsert)."""
    client = temporal_env.client
    device = FakeWifiDevice(device_id=new_device_id())
    async with edge_worker(client, site=site, activities=device.activities()):
        handle = await start_run(
            client, http_wifi_run(device.device_id, site, with_network=network()), queue
        )
        assert (await handle.result()).state is S.SUCCEEDED

    events = [event async for event in handle.fetch_history_events()]
    upserts = [
        event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        for event in events
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    assert [sorted(fields) for fields in upserts] == [
        sorted([sa.ERROR_CODE.name, sa.PROVISIONING_STATE.name])
    ]
    assert upserts[0][sa.PROVISIONING_STATE.name].data == b'"SUCCEEDED"'
    assert [e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED] == []
    assert device.configured_ssid == network().ssid  # it did provision, through every step


async def test_in_progress_finds_moving_runs_and_those_that_recorded_an_exact_step(
    temporal_env: WorkflowEnvironment, site: str
) -> None:
    client = temporal_env.client
    # No worker serves this queue: the runs stay as started, with the attributes given.
    idle_queue = f"idle-{uuid.uuid4().hex[:8]}"
    moving = http_wifi_run(new_device_id(), site)
    legacy = http_wifi_run(new_device_id(), site)
    waiting = http_wifi_run(new_device_id(), site)
    # As the API starts runs now; as versions before the coarse states recorded a step;
    # a waiting run.
    recorded = [(moving, "IN_PROGRESS"), (legacy, "DETECTING"), (waiting, "WAITING_FOR_DEVICE")]
    handles = []
    for run, state in recorded:
        attributes = sa.initial_search_attributes(run).updated(
            SearchAttributePair(sa.PROVISIONING_STATE, state)
        )
        handles.append(
            await client.start_workflow(
                HTTP_WIFI_SPEC.workflow,
                run,
                id=workflow_id_for(run.device_id),
                task_queue=idle_queue,
                search_attributes=attributes,
            )
        )
    try:
        async with asyncio.timeout(15):
            while True:
                listed = await list_runs(
                    client, RunFilter(state=VisibleState.IN_PROGRESS, site=site), 50
                )
                found = {r.device_id: r.state for r in listed}
                if {moving.device_id, legacy.device_id} <= set(found):
                    break
                await asyncio.sleep(0.2)
        assert found[moving.device_id] is VisibleState.IN_PROGRESS
        assert found[legacy.device_id] is VisibleState.IN_PROGRESS
        assert waiting.device_id not in found
    finally:
        for handle in handles:
            await handle.terminate("test done")
