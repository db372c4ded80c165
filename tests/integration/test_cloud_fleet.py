"""A fleet of composite devices against a rate-limited vendor cloud: 40 in `make test`,
100 in `make chaos` (`DEVPROV_CLOUD_FLEET_SIZE`)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from temporalio.client import Client

from config.policies import load_policy_book
from config.settings import ApiSettings, Settings
from simulators.http_wifi import DeviceFaults, SimulatedWifiDevice
from simulators.wifi_cloud import (
    CloudConfig,
    QuotaConfig,
    RunningCloud,
    start_cloud_simulator,
)
from tests.integration.conftest import NETWORK, ApiClient, serve_cloud_pipeline
from tests.integration.test_wifi_cloud_pipeline import CLOUD_POLICY_ENV
from tests.sse import parse_sse

QUOTA_PER_SECOND = 20
LOADED_POLICY_ENV = {
    **CLOUD_POLICY_ENV,
    # 100 devices on a 2-core machine: a slow answer is load, not a broken device, so
    # every device step may be tried again (only the never-joining ones must fail).
    **{
        f"DEVPROV_POLICY__DEFAULTS__STEPS__{step}__RETRY__MAXIMUM_ATTEMPTS": "10"
        for step in ("DETECT", "PRE_CHECK", "PROVISION")
    },
    # A joined device answers at once, but under load the step itself may be slow to
    # run: give confirm a window that only a device that never joins uses up.
    "DEVPROV_POLICY__STRATEGIES__WIFI_CLOUD__STEPS__CONFIRM__START_TO_CLOSE": "12s",
}
FLEET_SIZE = int(os.environ.get("DEVPROV_CLOUD_FLEET_SIZE", "40"))
NEVER_JOINING = len(range(0, FLEET_SIZE, 10))


@pytest.fixture
def devices() -> list[SimulatedWifiDevice]:
    prefix = uuid.uuid4().hex[:6]
    return [
        SimulatedWifiDevice(
            f"cf-{prefix}-{n:03d}",
            join_delay=0.0,
            faults=DeviceFaults(never_joins=True) if n % 10 == 0 else DeviceFaults(),
        )
        for n in range(FLEET_SIZE)
    ]


@pytest.fixture
async def cloud() -> AsyncIterator[RunningCloud]:
    running = await start_cloud_simulator(
        CloudConfig(auto_checkin_delay=0.1, quota=QuotaConfig(global_per_second=QUOTA_PER_SECOND)),
        "127.0.0.1",
        0,
    )
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def api(
    temporal_client: Client,
    site: str,
    devices: list[SimulatedWifiDevice],
    cloud: RunningCloud,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
) -> AsyncIterator[ApiClient]:
    async with serve_cloud_pipeline(
        temporal_client,
        site,
        devices,
        cloud.base_url,
        aiohttp_client,
        policies=load_policy_book(environ=LOADED_POLICY_ENV),
        settings=Settings(api=ApiSettings.defaults(sse_poll_interval_seconds=0.2)),
    ) as served:
        yield served


async def test_a_fleet_with_10_percent_failing_never_exceeds_the_cloud_quota(
    api: ApiClient, devices: list[SimulatedWifiDevice], site: str, cloud: RunningCloud
) -> None:
    fleet_id = f"cf-{uuid.uuid4().hex[:6]}"
    path = f"/api/v1/fleets/{fleet_id}/provision"
    body: dict[str, Any] = {
        "template": {
            "type": "wifi-hub",
            "vendor": "acme",
            "capabilities": ["wifi", "http-rpc", "vendor-cloud"],
            "site": site,
        },
        "network": NETWORK,
        "limits": {"max_in_flight": 20, "per_site": 20, "per_vendor": 20},
        "devices": [{"device_id": d.device_id} for d in devices],
    }
    started = await api.post(path, json=body)
    assert started.status == 202, await started.text()

    async with asyncio.timeout(240):
        events = parse_sse(await (await api.get(f"{path}/events")).text())

    final = events[-1].data
    assert final["state"] == "COMPLETED"
    assert final["counts"]["SUCCEEDED"] == FLEET_SIZE - NEVER_JOINING, final["failures_by_code"]
    assert final["failures_by_code"] == {"NETWORK_JOIN_TIMEOUT": NEVER_JOINING}
    failed = {f["device_id"] for f in final["failures"]}
    assert failed == {d.device_id for n, d in enumerate(devices) if n % 10 == 0}
    quota: dict[str, Any] = cloud.cloud.snapshot()["quota"]  # type: ignore[assignment]
    assert quota["peak_admitted_per_second"] <= QUOTA_PER_SECOND
    state = cloud.cloud.registry.snapshot()
    registered: dict[str, Any] = state["devices"]  # type: ignore[assignment]
    assert len(registered) == FLEET_SIZE - NEVER_JOINING
    assert cloud.cloud.registry.orphaned_credentials() == []
