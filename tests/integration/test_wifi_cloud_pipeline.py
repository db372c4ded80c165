"""The composite strategy end to end: HTTP Wi-Fi on the edge, then the vendor cloud."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from temporalio.client import Client

from config.policies import load_policy_book
from registry import DeviceRegistry
from simulators.http_wifi import SimulatedWifiDevice
from simulators.wifi_cloud import (
    CloudConfig,
    CloudFaults,
    RunningCloud,
    start_cloud_simulator,
)
from tests.integration.conftest import NETWORK, POLICY_ENV, ApiClient, serve_cloud_pipeline
from tests.sse import parse_sse

CLOUD_POLICY_ENV = {
    **POLICY_ENV,
    "DEVPROV_POLICY__STRATEGIES__WIFI_CLOUD__STEPS__CONFIRM__START_TO_CLOSE": "4s",
    "DEVPROV_POLICY__STRATEGIES__WIFI_CLOUD__STEPS__CONFIRM__RETRY__MAXIMUM_ATTEMPTS": "1",
    "DEVPROV_POLICY__STRATEGIES__WIFI_CLOUD__STEPS__PROVISION__RETRY__INITIAL_INTERVAL": "100ms",
}


@pytest.fixture
def device() -> SimulatedWifiDevice:
    return SimulatedWifiDevice(f"hub-{uuid.uuid4().hex[:8]}", join_delay=0.2)


@pytest.fixture
async def cloud() -> AsyncIterator[RunningCloud]:
    running = await start_cloud_simulator(CloudConfig(auto_checkin_delay=0.2), "127.0.0.1", 0)
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def api(
    temporal_client: Client,
    site: str,
    device: SimulatedWifiDevice,
    cloud: RunningCloud,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    device_registry: DeviceRegistry,
) -> AsyncIterator[ApiClient]:
    """API, a central worker with the cloud activities, an edge worker with HTTP Wi-Fi;
    one device registry."""
    async with serve_cloud_pipeline(
        temporal_client,
        site,
        [device],
        cloud.base_url,
        aiohttp_client,
        policies=load_policy_book(environ=CLOUD_POLICY_ENV),
        registry=device_registry,
    ) as served:
        yield served


def body(site: str) -> dict[str, Any]:
    return {
        "device": {
            "type": "wifi-hub",
            "vendor": "acme",
            "capabilities": ["wifi", "http-rpc", "vendor-cloud"],
            "site": site,
        },
        "network": NETWORK,
    }


async def provision(api: ApiClient, device: SimulatedWifiDevice, site: str) -> list[dict[str, Any]]:
    path = f"/api/v1/devices/{device.device_id}/provision"
    started = await api.post(path, json=body(site))
    assert started.status == 202, await started.text()
    assert (await started.json())["strategy"] == "wifi-cloud"
    async with asyncio.timeout(60):
        return [e.data for e in parse_sse(await (await api.get(f"{path}/events")).text())]


def cloud_holds(cloud: RunningCloud, device_id: str) -> dict[str, Any]:
    state = cloud.cloud.registry.snapshot()
    devices: dict[str, Any] = state["devices"]  # type: ignore[assignment]
    credentials: dict[str, Any] = state["credentials"]  # type: ignore[assignment]
    return {
        "device": devices.get(device_id),
        "active_credentials": [
            c
            for c in credentials.values()
            if c["device_id"] == device_id and c["status"] == "active"
        ],
        "registrations": state["registrations_per_device"].get(device_id, 0),  # type: ignore[attr-defined]
    }


async def test_device_joins_wifi_registers_once_and_checks_in(
    api: ApiClient, device: SimulatedWifiDevice, site: str, cloud: RunningCloud
) -> None:
    events = await provision(api, device, site)

    assert events[-1]["state"] == "SUCCEEDED"
    assert "checked in with its cloud" in events[-1]["message"]
    held = cloud_holds(cloud, device.device_id)
    assert held["device"]["policies"] == ["devprov-device"]
    assert len(held["active_credentials"]) == 1
    assert held["registrations"] == 1
    assert device.counters.wifi_config_writes == 1
    record = await (await api.get(f"/api/v1/devices/{device.device_id}")).json()
    [credential] = held["active_credentials"]
    assert (record["state"], record["network_ssid"]) == ("IN_SERVICE", NETWORK["ssid"])
    assert record["cloud_thing"] == held["device"]["device_id"] == device.device_id
    assert record["cloud_certificate_id"] == credential["credential_id"]


async def test_failure_after_registration_leaves_nothing_in_the_cloud(
    api: ApiClient, device: SimulatedWifiDevice, site: str, cloud: RunningCloud
) -> None:
    cloud.cloud.faults = CloudFaults(silent_devices=frozenset({device.device_id}))

    events = await provision(api, device, site)

    assert [e["state"] for e in events][-2:] == ["ROLLING_BACK", "ROLLED_BACK"]
    assert events[-1]["error_code"] == "CLOUD_CHECKIN_TIMEOUT"
    held = cloud_holds(cloud, device.device_id)
    assert held["device"] is None
    assert held["active_credentials"] == []
    assert cloud.cloud.registry.orphaned_credentials() == []
    assert device.counters.factory_resets == 1


async def test_rate_limited_cloud_is_retried_after_its_retry_after(
    api: ApiClient, device: SimulatedWifiDevice, site: str, cloud: RunningCloud
) -> None:
    cloud.cloud.faults = CloudFaults(throttle=2, throttle_retry_after=1)

    events = await provision(api, device, site)

    assert events[-1]["state"] == "SUCCEEDED"
    assert cloud_holds(cloud, device.device_id)["registrations"] == 1
    injected: dict[str, int] = cloud.cloud.snapshot()["faults_injected"]  # type: ignore[assignment]
    assert injected["throttle"] == 2


async def test_new_credentials_after_a_rejected_passphrase_register_the_device_once(
    api: ApiClient, device: SimulatedWifiDevice, site: str, cloud: RunningCloud
) -> None:
    """Issue 15, case 2: the second round reused the first round's idempotency keys with
    a new key pair and CSR; the cloud refused it (CLOUD_IDEMPOTENCY_MISMATCH)."""
    path = f"/api/v1/devices/{device.device_id}/provision"
    device.faults = device.faults.model_copy(update={"wrong_passphrase": True})
    started = await api.post(path, json=body(site))
    assert started.status == 202
    async with asyncio.timeout(30):
        while (await (await api.get(path)).json())["state"] != "PENDING_NETWORK":
            await asyncio.sleep(0.1)
    device.faults = device.faults.model_copy(update={"wrong_passphrase": False})

    answer = await api.post(f"{path}/credentials", json=NETWORK)
    async with asyncio.timeout(60):
        events = [e.data for e in parse_sse(await (await api.get(f"{path}/events")).text())]

    assert answer.status == 200
    assert (events[-1]["state"], events[-1]["error_code"]) == ("SUCCEEDED", None)
    held = cloud_holds(cloud, device.device_id)
    assert held["registrations"] == 1
    assert len(held["active_credentials"]) == 1
    assert cloud.cloud.registry.snapshot()["orphaned_credentials"] == []
    assert device.sta.ssid == NETWORK["ssid"]


async def test_a_decommissioned_device_is_deregistered_its_credential_revoked_and_reset(
    api: ApiClient, device: SimulatedWifiDevice, site: str, cloud: RunningCloud
) -> None:
    assert (await provision(api, device, site))[-1]["state"] == "SUCCEEDED"
    [issued] = cloud_holds(cloud, device.device_id)["active_credentials"]

    path = f"/api/v1/devices/{device.device_id}/decommission"
    started = await api.post(path)
    assert started.status == 202, await started.text()
    async with asyncio.timeout(60):
        events = [e.data for e in parse_sse(await (await api.get(f"{path}/events")).text())]

    assert events[-1]["state"] == "SUCCEEDED", events[-1]
    held = cloud_holds(cloud, device.device_id)
    assert (held["device"], held["active_credentials"]) == (None, [])
    credentials: dict[str, Any] = cloud.cloud.registry.snapshot()["credentials"]  # type: ignore[assignment]
    assert credentials[issued["credential_id"]]["status"] == "revoked"
    assert device.in_setup_mode
    assert device.counters.factory_resets == 1
    record = await (await api.get(f"/api/v1/devices/{device.device_id}")).json()
    assert (record["state"], record["cloud_thing"]) == ("DECOMMISSIONED", None)


async def test_a_reset_reprovisioning_deregisters_resets_and_registers_the_device_anew(
    api: ApiClient, device: SimulatedWifiDevice, site: str, cloud: RunningCloud
) -> None:
    assert (await provision(api, device, site))[-1]["state"] == "SUCCEEDED"
    [first] = cloud_holds(cloud, device.device_id)["active_credentials"]

    path = f"/api/v1/devices/{device.device_id}/provision"
    started = await api.post(path, json={**body(site), "reprovision": "reset"})
    assert started.status == 202, await started.text()
    async with asyncio.timeout(60):
        events = [e.data for e in parse_sse(await (await api.get(f"{path}/events")).text())]

    assert events[-1]["state"] == "SUCCEEDED", events[-1]
    held = cloud_holds(cloud, device.device_id)
    [second] = held["active_credentials"]
    credentials: dict[str, Any] = cloud.cloud.registry.snapshot()["credentials"]  # type: ignore[assignment]
    assert credentials[first["credential_id"]]["status"] == "revoked"
    assert second["credential_id"] != first["credential_id"]
    assert held["registrations"] == 2
    assert device.counters.factory_resets == 1
    record = await (await api.get(f"/api/v1/devices/{device.device_id}")).json()
    assert (record["state"], record["cloud_certificate_id"]) == (
        "IN_SERVICE",
        second["credential_id"],
    )
    migrate = await api.post(path, json={**body(site), "reprovision": "migrate"})
    problem = await migrate.json()
    assert (migrate.status, problem["code"]) == (422, "REPROVISION_POLICY_UNSUPPORTED")
