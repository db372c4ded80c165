"""Fixtures of the API tests: the real dev server, workflow and API; a fake device."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from api.app import ApiDependencies, create_app
from config.policies import PolicyBook, load_policy_book
from config.settings import ApiSettings, Settings
from domain.run import workflow_id_for
from strategies.catalog import build_registry
from tests.fakes import FakeWifiDevice
from tests.sse import SseEvent, parse_sse
from worker.workers import central_worker, edge_worker

PASSPHRASE = "correct-horse-battery"
"""The fake device's good passphrase; no response may ever contain it."""
CREDENTIALS = {"ssid": "home-net", "passphrase": PASSPHRASE}

FAST_POLICY_ENV = {
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_POLL_INTERVAL": "200ms",
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "3s",
    "DEVPROV_POLICY__DEFAULTS__WAITS__NETWORK_WAIT": "30s",
    **{
        f"DEVPROV_POLICY__DEFAULTS__STEPS__{step}__RETRY__INITIAL_INTERVAL": "100ms"
        for step in ("DETECT", "PRE_CHECK", "PROVISION", "CONFIRM", "ROLLBACK")
    },
}

ApiClient = TestClient[web.Request, web.Application]


@pytest.fixture
def fast_policies() -> PolicyBook:
    """Short waits and retry intervals, so runs end within a test's patience."""
    return load_policy_book(environ=FAST_POLICY_ENV)


@pytest.fixture
def task_queue() -> str:
    """A central task queue of this test's own (the API starts runs on it)."""
    return f"central-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def device_id(temporal_client: Client) -> AsyncIterator[str]:
    """A fresh device id; its run is terminated after the test if it still runs."""
    device = f"shelly-{uuid.uuid4().hex[:10]}"
    yield device
    handle = temporal_client.get_workflow_handle(workflow_id_for(device))
    with contextlib.suppress(RPCError):
        if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test cleanup")


@pytest.fixture
def fake_device(device_id: str) -> FakeWifiDevice:
    """The in-memory device the fake edge activities act on."""
    return FakeWifiDevice(device_id=device_id, good_passphrase=PASSPHRASE)


@pytest.fixture
def api_deps(
    temporal_client: Client, fast_policies: PolicyBook, task_queue: str
) -> ApiDependencies:
    """Dependencies of the API under test."""
    return ApiDependencies(
        temporal=temporal_client,
        registry=build_registry(),
        policies=fast_policies,
        settings=Settings(
            api=ApiSettings.defaults(sse_poll_interval_seconds=0.1, max_request_bytes=4096)
        ),
        task_queue=task_queue,
        stream_ping_seconds=1.0,
    )


@pytest.fixture
async def api(
    aiohttp_client: Callable[..., Awaitable[ApiClient]], api_deps: ApiDependencies
) -> ApiClient:
    """The API application served by pytest-aiohttp's test server."""
    return await aiohttp_client(create_app(api_deps))


@pytest.fixture
async def workers(
    temporal_client: Client, task_queue: str, site: str, fake_device: FakeWifiDevice
) -> AsyncIterator[FakeWifiDevice]:
    """Central worker (real workflows) and an edge worker with fake device activities."""
    async with (
        central_worker(temporal_client, task_queue=task_queue),
        edge_worker(temporal_client, site=site, activities=fake_device.activities()),
    ):
        yield fake_device


def provision_body(
    site: str,
    *,
    network: bool = True,
    capabilities: tuple[str, ...] = ("wifi", "http-rpc"),
    **device: Any,
) -> dict[str, Any]:
    """A provision request body for the fake device (device id from the path)."""
    body: dict[str, Any] = {
        "device": {
            "type": "wifi-relay",
            "vendor": "shelly",
            "capabilities": list(capabilities),
            "site": site,
            **device,
        }
    }
    if network:
        body["network"] = {"ssid": "home-net", "passphrase": PASSPHRASE}
    return body


def bearer(key: str) -> dict[str, str]:
    """The header that presents an API key."""
    return {"Authorization": f"Bearer {key}"}


def run_path(device_id: str, action: str = "") -> str:
    """Path of the run of `device_id`, or of one of its actions."""
    base = f"/api/v1/devices/{device_id}/provision"
    return f"{base}/{action}" if action else base


async def read_sse(response: ClientResponse, within: float = 30) -> list[SseEvent]:
    """Read a whole SSE stream (it ends after the terminal event)."""
    async with asyncio.timeout(within):
        return parse_sse(await response.text())


async def wait_for_state(
    api: ApiClient, device_id: str, state: str, within: float = 20
) -> dict[str, Any]:
    """Poll the status route until the run is in `state`; return the status body."""
    body: dict[str, Any] = {}
    async with asyncio.timeout(within):
        while True:
            response = await api.get(run_path(device_id))
            if response.status == 200:
                body = await response.json()
                if body["state"] == state:
                    return body
            await asyncio.sleep(0.1)


async def wait_for_execution(
    api: ApiClient, device_id: str, status: str, within: float = 20
) -> dict[str, Any]:
    """Poll the status route until Temporal reports the execution `status`."""
    async with asyncio.timeout(within):
        while True:
            body: dict[str, Any] = await (await api.get(run_path(device_id))).json()
            if body.get("execution_status") == status:
                return body
            await asyncio.sleep(0.1)
