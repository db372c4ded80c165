"""The whole pipeline on loopback: API → workflow → edge worker → httpx → simulated device."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from temporalio.client import Client

from activities.http_wifi import HttpWifiActivities
from activities.wifi_cloud import WifiCloudActivities
from adapters.http_wifi import HttpWifiAdapter
from adapters.wifi_cloud import WifiCloudAdapter
from api.app import ApiDependencies, create_app
from api.auth import AuthConfig
from config.policies import PolicyBook, load_policy_book
from config.settings import ApiSettings, Settings
from registry import DeviceRegistry
from simulators.http_wifi import (
    RunningSimulator,
    SimulatedWifiDevice,
    WifiDeviceFleet,
    start_simulator,
)
from simulators.wifi_cloud import DEV_API_KEY, DEV_CLAIM_TOKEN
from strategies.catalog import build_registry
from tests.aws_fixtures import (  # noqa: F401  (fixtures of the AWS IoT pipeline tests)
    aws_env,
    fault_proxy,
    moto_iot,
    sdk_session,
)
from tests.ble_fixtures import (  # noqa: F401  (fixtures of the Improv BLE pipeline tests)
    ble_radio,
    improv_fleet,
    improv_specs,
    improv_web,
)
from worker.workers import central_worker, edge_worker

ApiClient = TestClient[web.Request, web.Application]

NETWORK = {"ssid": "devprov-lab", "passphrase": "correct-horse-battery"}

POLICY_ENV = {
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_POLL_INTERVAL": "200ms",
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "10s",
    "DEVPROV_POLICY__DEFAULTS__STEPS__DETECT__RETRY__MAXIMUM_ATTEMPTS": "2",
    "DEVPROV_POLICY__STRATEGIES__HTTP_WIFI__STEPS__CONFIRM__START_TO_CLOSE": "4s",
    "DEVPROV_POLICY__STRATEGIES__HTTP_WIFI__STEPS__CONFIRM__RETRY__MAXIMUM_ATTEMPTS": "1",
    **{
        f"DEVPROV_POLICY__DEFAULTS__STEPS__{step}__RETRY__INITIAL_INTERVAL": "100ms"
        for step in ("DETECT", "PRE_CHECK", "PROVISION", "CONFIRM", "ROLLBACK")
    },
}


async def serve_api(
    temporal_client: Client,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    *,
    task_queue: str,
    policies: PolicyBook,
    settings: Settings | None = None,
    stream_ping_seconds: float = 15.0,
    devices: DeviceRegistry | None = None,
    auth: AuthConfig | None = None,
) -> ApiClient:
    """The API over the installed families, starting runs on `task_queue` (streams poll
    every 0.1 s unless `settings` say otherwise), reading the device registry `devices`."""
    deps = ApiDependencies(
        temporal=temporal_client,
        registry=build_registry(),
        policies=policies,
        settings=settings or Settings(api=ApiSettings.defaults(sse_poll_interval_seconds=0.1)),
        task_queue=task_queue,
        stream_ping_seconds=stream_ping_seconds,
        devices=devices,
        auth=auth,
    )
    return await aiohttp_client(create_app(deps))


@contextlib.asynccontextmanager
async def serve_cloud_pipeline(
    temporal_client: Client,
    site: str,
    devices: list[SimulatedWifiDevice],
    cloud_url: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    *,
    policies: PolicyBook,
    settings: Settings | None = None,
    registry: DeviceRegistry | None = None,
) -> AsyncIterator[ApiClient]:
    """The API, a central worker with the vendor cloud's activities and an edge worker
    with HTTP Wi-Fi for `site`, over simulated `devices`; both use the device registry
    `registry` (None: the worker's own)."""
    simulator = await start_simulator(WifiDeviceFleet(devices), "127.0.0.1", 0)
    queue = f"central-{uuid.uuid4().hex[:8]}"
    try:
        async with httpx.AsyncClient(trust_env=False) as http:
            wifi = HttpWifiAdapter(http, f"{simulator.base_url}/devices/{{device_id}}")
            vendor = WifiCloudAdapter(http, cloud_url, SecretStr(DEV_API_KEY))
            cloud_activities = WifiCloudActivities(vendor, SecretStr(DEV_CLAIM_TOKEN)).all()
            async with (
                central_worker(
                    temporal_client,
                    task_queue=queue,
                    activities=cloud_activities,
                    registry=registry,
                ),
                edge_worker(temporal_client, site=site, activities=HttpWifiActivities(wifi).all()),
            ):
                yield await serve_api(
                    temporal_client,
                    aiohttp_client,
                    task_queue=queue,
                    policies=policies,
                    settings=settings,
                    devices=registry,
                )
    finally:
        await simulator.close()


class Everything(logging.Handler):
    """Keeps every log record, formatted, for a secret scan."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.text: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.text.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Everything]:
    """Every record any logger writes during the test, DEBUG included."""
    handler = Everything()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.fixture
def device() -> SimulatedWifiDevice:
    """One simulated device in set-up mode that joins after half a second."""
    return SimulatedWifiDevice(f"shelly-{uuid.uuid4().hex[:8]}", join_delay=0.5)


@pytest.fixture
async def simulator(device: SimulatedWifiDevice) -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(WifiDeviceFleet([device]), "127.0.0.1", 0)
    try:
        yield running
    finally:
        await running.close()


@contextlib.asynccontextmanager
async def serve_pipeline(
    temporal_client: Client,
    simulator: RunningSimulator,
    site: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    *,
    policies: PolicyBook | None = None,
    settings: Settings | None = None,
    stream_ping_seconds: float = 15.0,
    devices: DeviceRegistry | None = None,
    auth: AuthConfig | None = None,
) -> AsyncIterator[ApiClient]:
    """The API with a central worker and a real edge worker for `site`; both the worker's
    runs and the API use the device registry `devices` (None: the worker's own).
    Policies default to the integration tests' quick ones (`POLICY_ENV`), settings to a
    0.1 s stream poll."""
    policies = policies or load_policy_book(environ=POLICY_ENV)
    settings = settings or Settings(api=ApiSettings.defaults(sse_poll_interval_seconds=0.1))
    task_queue = f"central-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(trust_env=False) as http:
        adapter = HttpWifiAdapter(http, f"{simulator.base_url}/devices/{{device_id}}", timeout=2.0)
        activities = HttpWifiActivities(adapter).all()
        async with (
            central_worker(temporal_client, task_queue=task_queue, registry=devices),
            edge_worker(temporal_client, site=site, activities=activities),
        ):
            yield await serve_api(
                temporal_client,
                aiohttp_client,
                task_queue=task_queue,
                policies=policies,
                settings=settings,
                stream_ping_seconds=stream_ping_seconds,
                devices=devices,
                auth=auth,
            )


@pytest.fixture
async def pipeline(
    temporal_client: Client,
    simulator: RunningSimulator,
    site: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
) -> AsyncIterator[ApiClient]:
    """The API with a central worker and a real edge worker for this test's site."""
    async with serve_pipeline(
        temporal_client,
        simulator,
        site,
        aiohttp_client,
    ) as api:
        yield api


@pytest.fixture
async def registered_pipeline(
    temporal_client: Client,
    simulator: RunningSimulator,
    site: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    device_registry: DeviceRegistry,
) -> AsyncIterator[ApiClient]:
    """The pipeline with its central worker and its API sharing one device registry."""
    async with serve_pipeline(
        temporal_client,
        simulator,
        site,
        aiohttp_client,
        devices=device_registry,
    ) as api:
        yield api


def request_body(site: str, *, network: dict[str, str] | None = NETWORK) -> dict[str, object]:
    body: dict[str, object] = {
        "device": {
            "type": "wifi-relay",
            "vendor": "shelly",
            "capabilities": ["wifi", "http-rpc"],
            "site": site,
        }
    }
    if network is not None:
        body["network"] = network
    return body
