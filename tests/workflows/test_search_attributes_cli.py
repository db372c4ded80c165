"""Ops find waiting runs by search attribute, with the `temporal` CLI and `devprov runs list`."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from cli.__main__ import run as devprov
from domain.states import ProvisioningState as S
from tests.conftest import TEST_KEY_RING
from tests.fakes import FakeWifiDevice
from tests.workflows.helpers import http_wifi_run, network, new_device_id, start_run, wait_for_state
from worker.workers import central_worker, edge_worker


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
