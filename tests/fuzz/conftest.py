"""A live API for the fuzzers: real HTTP server, real Temporal, a central and an edge worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.http_wifi import HttpWifiActivities
from adapters.http_wifi import HttpWifiAdapter
from api import ApiDependencies, ApiServer, start_api
from config.policies import load_policy_book
from config.settings import ApiSettings, Settings
from registry import opened_registry
from simulators.http_wifi import SimulatedWifiDevice, WifiDeviceFleet, start_simulator
from strategies.catalog import build_registry
from tests.conftest import start_dev_server
from worker.workers import central_worker, edge_worker

FINISHED_RUN_DEVICES = ("fuzz-finished", "fuzz-fleet-member")
"""Simulated devices the fuzz test provisions to the end before schemathesis runs: one on
its own, one as the only device of a fleet."""


@pytest.fixture(scope="module")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of the fuzzers' own. On the shared one, runs that other tests left
    waiting (their workers gone) hold the device ids of the document's examples, and
    every update the fuzzer sends them waits out its 60 s timeout."""
    env = await start_dev_server()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def live_api(temporal_client: Client, site: str, tmp_path: Path) -> AsyncIterator[ApiServer]:
    """The API on a free loopback port, with workers, so started runs really run; both
    share a device registry, so the inventory holds the devices the runs provisioned."""
    simulator = await start_simulator(
        WifiDeviceFleet(
            SimulatedWifiDevice(device_id, join_delay=0.0)
            for device_id in ("fuzz-relay", *FINISHED_RUN_DEVICES)
        ),
        "127.0.0.1",
        0,
    )
    queue = f"fuzz-{uuid.uuid4().hex[:8]}"
    try:
        async with (
            httpx.AsyncClient(trust_env=False) as http,
            opened_registry(f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}") as devices,
        ):
            adapter = HttpWifiAdapter(http, f"{simulator.base_url}/devices/{{device_id}}")
            async with (
                central_worker(temporal_client, task_queue=queue, registry=devices),
                edge_worker(
                    temporal_client, site=site, activities=HttpWifiActivities(adapter).all()
                ),
            ):
                api = await start_api(
                    ApiDependencies(
                        temporal=temporal_client,
                        registry=build_registry(),
                        policies=load_policy_book(environ={}),
                        settings=Settings(api=ApiSettings.defaults(sse_poll_interval_seconds=0.2)),
                        task_queue=queue,
                        devices=devices,
                    ),
                    "127.0.0.1",
                    0,
                )
                try:
                    yield api
                finally:
                    await api.close()
    finally:
        await simulator.close()
