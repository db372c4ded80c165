"""The web console in a real browser: Playwright drives Debian's chromium against the API
(with keys on), real central and edge workers and the simulated Wi-Fi devices."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from activities.http_wifi import HttpWifiActivities
from adapters.http_wifi import HttpWifiAdapter
from api.app import ApiDependencies, ApiServer, start_api
from api.auth import AuthConfig, KeyStore, Scope, new_key
from config.policies import load_policy_book
from config.settings import ApiSettings, Settings, TemporalSettings
from registry import opened_registry
from simulators.http_wifi import SimulatedWifiDevice, WifiDeviceFleet, start_simulator
from strategies.catalog import build_registry
from tests.integration.conftest import POLICY_ENV
from worker.workers import central_worker, edge_worker

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TEMPORAL_UI = "http://temporal-ui.test:8233"
VIEWPORT = {"width": 1360, "height": 900}

# What a person sees may take a while on a loaded 2-core machine; auto-waiting absorbs it.
expect.set_options(timeout=20_000)


@dataclass(frozen=True)
class ConsoleStack:
    """The API twice (keys on, and keys off) over the same workers and simulated devices."""

    api: ApiServer
    open_api: ApiServer
    key: str
    fleet: WifiDeviceFleet
    site: str

    @property
    def console_url(self) -> str:
        return f"{self.api.url}/console"

    @property
    def open_console_url(self) -> str:
        return f"{self.open_api.url}/console"

    def add_device(self) -> SimulatedWifiDevice:
        """A new simulated device in set-up mode, reachable by the edge worker."""
        return self.fleet.add(SimulatedWifiDevice(f"relay-{uuid.uuid4().hex[:6]}", join_delay=0.5))

    async def end_run(self, device_id: str) -> None:
        """Cancel the device's run if a test left it waiting (nothing to do otherwise)."""
        async with httpx.AsyncClient(base_url=self.api.url, trust_env=False) as http:
            await http.post(
                f"/api/v1/devices/{device_id}/provision/cancel",
                headers={"Authorization": f"Bearer {self.key}"},
            )


@pytest.fixture(scope="session")
async def console_stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[ConsoleStack]:
    """API, workers and simulator on loopback with free ports, shared by the browser tests."""
    client = temporal_env.client
    site = f"browser{uuid.uuid4().hex[:8]}"
    task_queue = f"central-{uuid.uuid4().hex[:8]}"
    key, stored = new_key("default", Scope, key_id="console")
    fleet = WifiDeviceFleet([])
    async with contextlib.AsyncExitStack() as stack:
        simulator = await start_simulator(fleet, "127.0.0.1", 0)
        stack.push_async_callback(simulator.close)
        http = await stack.enter_async_context(httpx.AsyncClient(trust_env=False))
        adapter = HttpWifiAdapter(http, f"{simulator.base_url}/devices/{{device_id}}", timeout=2.0)
        # The registry the runs write and the console's inventory reads.
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devprov-console-")))
        devices = await stack.enter_async_context(
            opened_registry(f"sqlite+aiosqlite:///{data / 'registry.db'}")
        )
        await stack.enter_async_context(
            central_worker(client, task_queue=task_queue, registry=devices)
        )
        await stack.enter_async_context(
            edge_worker(client, site=site, activities=HttpWifiActivities(adapter).all())
        )
        deps = ApiDependencies(
            temporal=client,
            registry=build_registry(),
            policies=load_policy_book(environ=POLICY_ENV),
            settings=Settings(
                api=ApiSettings.defaults(sse_poll_interval_seconds=0.1),
                temporal=TemporalSettings.defaults(ui_url=TEMPORAL_UI),
            ),
            task_queue=task_queue,
            auth=AuthConfig(KeyStore([stored])),
            devices=devices,
        )
        api = await start_api(deps, "127.0.0.1", 0, shutdown_timeout=1.0)
        stack.push_async_callback(api.close)
        open_api = await start_api(
            dataclasses.replace(deps, auth=None), "127.0.0.1", 0, shutdown_timeout=1.0
        )
        stack.push_async_callback(open_api.close)
        yield ConsoleStack(api=api, open_api=open_api, key=key, fleet=fleet, site=site)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium, headless (Playwright cannot download browsers here)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"chromium is not installed at {CHROMIUM}: run scripts/install-chromium.sh "
            "(make test does) and run the browser tests again"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile per test (its own sessionStorage, so its own key)."""
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A tab of the console; an uncaught error in the page's scripts fails the test."""
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    yield page
    assert not errors, f"the console's scripts failed: {errors}"


@pytest.fixture
async def device(console_stack: ConsoleStack) -> AsyncIterator[SimulatedWifiDevice]:
    """A simulated Wi-Fi relay of this test only; its run does not outlive the test."""
    device = console_stack.add_device()
    yield device
    await console_stack.end_run(device.device_id)
