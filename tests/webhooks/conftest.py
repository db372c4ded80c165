"""Webhook fixtures: a real receiver on loopback, quick delivery settings, the API and a
central worker over one registry."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from standardwebhooks import Webhook
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import ApiDependencies, create_app
from config.policies import load_policy_book
from config.settings import ApiSettings, Settings, WebhookSettings
from registry import DeviceRegistry
from simulators.http_wifi import SimulatedWifiDevice, WifiDeviceFleet, start_simulator
from strategies.catalog import build_registry
from tests.integration.conftest import (
    logs,  # noqa: F401  (every log record, for secret scans)
    serve_pipeline,
)
from worker.workers import central_worker

ApiClient = TestClient[web.Request, web.Application]


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    """A webhook receiver on loopback that records every request; `failing` makes it
    answer 503 (a receiver that is down for a while)."""

    url: str = ""
    failing: bool = False
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        status = 503 if self.failing else 200
        self.requests.append(Received(dict(request.headers), await request.read(), status))
        self.arrived.set()
        return web.Response(status=status)

    @property
    def delivered(self) -> list[Received]:
        return [r for r in self.requests if r.answered == 200]

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """The delivered events, each verified with the `standardwebhooks` library (which
        raises on a bad signature), with its `webhook-id` as `id`."""
        verifier = Webhook(secret)
        events = []
        for received in self.delivered:
            event = verifier.verify(received.body, received.headers)
            events.append({**event, "id": received.headers["webhook-id"]})
        return events

    async def wait_for_deliveries(self, count: int, within: float = 20.0) -> None:
        async with asyncio.timeout(within):
            while len(self.delivered) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver at `receiver.url` (http on 127.0.0.1)."""
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield found
    finally:
        await runner.cleanup()


QUICK_WEBHOOKS = WebhookSettings.defaults(
    allow_private=True,
    first_retry_seconds=0.2,
    max_retry_seconds=0.4,
    max_age_seconds=60.0,
    poll_seconds=1.0,
    timeout_seconds=2.0,
)
"""Retries in tenths of seconds, loopback receivers allowed."""


@pytest.fixture
def webhook_settings() -> WebhookSettings:
    return QUICK_WEBHOOKS


@pytest.fixture
def central_queue() -> str:
    return f"central-{uuid.uuid4().hex[:10]}"


@contextlib.asynccontextmanager
async def webhook_worker(
    client: Client, queue: str, registry: DeviceRegistry, settings: WebhookSettings
) -> AsyncIterator[Worker]:
    """A central worker hosting webhook delivery over `registry`."""
    async with central_worker(client, task_queue=queue, registry=registry, webhooks=settings) as w:
        yield w


@pytest.fixture
async def webhook_api(
    temporal_client: Client,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    device_registry: DeviceRegistry,
    central_queue: str,
    webhook_settings: WebhookSettings,
) -> ApiClient:
    """The API over the test's registry (no authentication: admin of `default`)."""
    deps = ApiDependencies(
        temporal=temporal_client,
        registry=build_registry(),
        policies=load_policy_book(environ={}),
        settings=Settings(
            api=ApiSettings.defaults(sse_poll_interval_seconds=0.1), webhooks=webhook_settings
        ),
        task_queue=central_queue,
        devices=device_registry,
    )
    return await aiohttp_client(create_app(deps))


async def subscribe(api: ApiClient, url: str, events: list[str]) -> dict[str, Any]:
    """Create a webhook through the API; its body, with the secret."""
    response = await api.post("/api/v1/webhooks", json={"url": url, "events": events})
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


@contextlib.asynccontextmanager
async def webhook_pipeline(
    temporal_client: Client,
    site: str,
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
    device_registry: DeviceRegistry,
    devices: list[SimulatedWifiDevice],
    webhook_settings: WebhookSettings,
    monkeypatch: pytest.MonkeyPatch,
    policy_env: dict[str, str],
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The API, a central and an edge worker over the test's registry and `devices`,
    with `webhook_settings` (also in the environment the workers read)."""
    for name, value in webhook_settings.model_dump().items():
        if value is not None:
            monkeypatch.setenv(f"DEVPROV_WEBHOOKS_{name.upper()}", str(value))
    simulator = await start_simulator(WifiDeviceFleet(devices), "127.0.0.1", 0)
    settings = Settings(
        api=ApiSettings.defaults(sse_poll_interval_seconds=0.1), webhooks=webhook_settings
    )
    try:
        async with serve_pipeline(
            temporal_client,
            simulator,
            site,
            aiohttp_client,
            policies=load_policy_book(environ=policy_env),
            settings=settings,
            devices=device_registry,
        ) as api:
            yield api
    finally:
        await simulator.close()
