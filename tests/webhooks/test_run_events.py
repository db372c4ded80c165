"""Runs and fleets send their ends to a receiver on loopback, signed per Standard
Webhooks: one event for each of the five terminal states (produced with simulator
faults), for a decommission, and for a fleet — verified with the `standardwebhooks`
library, not with devprov's code."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from temporalio.client import Client

from config.policies import ENV_PREFIX
from config.settings import WebhookSettings
from registry import DeviceRegistry
from simulators.http_wifi import SimulatedWifiDevice
from tests.integration.conftest import NETWORK, POLICY_ENV, ApiClient, request_body
from tests.webhooks.conftest import Receiver, subscribe, webhook_pipeline

EVERY_TYPE = ["run.succeeded", "run.failed", "device.decommissioned", "fleet.finished"]


@pytest.fixture
def devices() -> dict[str, SimulatedWifiDevice]:
    """One device per outcome, its faults set for it."""
    made = {
        name: SimulatedWifiDevice(f"wh-{name}-{uuid.uuid4().hex[:6]}", join_delay=0.2)
        for name in ("succeeds", "invalid", "rolls-back", "cancelled", "absent", "fleet-1")
    }
    made["invalid"].auth_enabled = True
    made["rolls-back"].faults = made["rolls-back"].faults.model_copy(update={"never_joins": True})
    made["absent"].faults = made["absent"].faults.model_copy(update={"unreachable": True})
    return made


@pytest.fixture
async def pipeline(
    temporal_client: Client,
    site: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    device_registry: DeviceRegistry,
    devices: dict[str, SimulatedWifiDevice],
    webhook_settings: WebhookSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[ApiClient]:
    """The API, a central and an edge worker over the test's registry and devices."""
    async with webhook_pipeline(
        temporal_client,
        site,
        aiohttp_client,
        device_registry,
        list(devices.values()),
        webhook_settings,
        monkeypatch,
        {**POLICY_ENV, f"{ENV_PREFIX}DEFAULTS__WAITS__DEVICE_WAIT": "1s"},
    ) as api:
        yield api


async def state_of(api: ApiClient, path: str) -> str:
    state: str = (await (await api.get(path)).json()).get("state", "")
    return state


async def until_state(api: ApiClient, path: str, wanted: str) -> None:
    async with asyncio.timeout(30):
        while await state_of(api, path) != wanted:
            await asyncio.sleep(0.1)


def by_device(events: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["data"]["device_id"], e["type"]): e for e in events if "device_id" in e["data"]}


async def test_each_terminal_state_and_a_decommission_send_a_signed_event(
    pipeline: ApiClient,
    receiver: Receiver,
    devices: dict[str, SimulatedWifiDevice],
    site: str,
) -> None:
    webhook = await subscribe(pipeline, receiver.url, EVERY_TYPE)
    paths = {name: f"/api/v1/devices/{d.device_id}/provision" for name, d in devices.items()}
    for name in ("succeeds", "invalid", "rolls-back", "absent"):
        started = await pipeline.post(paths[name], json=request_body(site))
        assert started.status == 202, await started.text()
    started = await pipeline.post(paths["cancelled"], json=request_body(site, network=None))
    assert started.status == 202, await started.text()
    await until_state(pipeline, paths["cancelled"], "PENDING_NETWORK")
    assert (await pipeline.post(f"{paths['cancelled']}/cancel")).status == 202
    await until_state(pipeline, paths["succeeds"], "SUCCEEDED")
    succeeded = devices["succeeds"].device_id
    decommission = await pipeline.post(f"/api/v1/devices/{succeeded}/decommission")
    assert decommission.status == 202, await decommission.text()

    await receiver.wait_for_deliveries(6, within=40)

    events = by_device(receiver.verified(webhook["secret"]))
    outcome = {
        key: (event["data"]["state"], event["data"]["error_code"]) for key, event in events.items()
    }
    assert outcome == {
        (succeeded, "run.succeeded"): ("SUCCEEDED", None),
        (succeeded, "device.decommissioned"): ("SUCCEEDED", None),
        (devices["invalid"].device_id, "run.failed"): ("FAILED_VALIDATION", "PRE_CHECK_FAILED"),
        (devices["rolls-back"].device_id, "run.failed"): ("ROLLED_BACK", "NETWORK_JOIN_TIMEOUT"),
        (devices["cancelled"].device_id, "run.failed"): ("CANCELLED", "CANCELLED_BY_USER"),
        (devices["absent"].device_id, "run.failed"): ("FAILED", "DEVICE_WAIT_TIMEOUT"),
    }
    success = events[(succeeded, "run.succeeded")]
    assert success["data"]["network_ssid"] == NETWORK["ssid"]
    assert success["data"]["workflow_id"] == f"provision-{succeeded}"
    assert events[(succeeded, "device.decommissioned")]["data"]["kind"] == "decommission"
    bodies = b"".join(r.body for r in receiver.requests)
    assert NETWORK["passphrase"].encode() not in bodies
    assert len({e["id"] for e in events.values()}) == 6


async def test_a_fleet_sends_fleet_finished_with_its_counts(
    pipeline: ApiClient,
    receiver: Receiver,
    devices: dict[str, SimulatedWifiDevice],
    site: str,
) -> None:
    webhook = await subscribe(pipeline, receiver.url, ["fleet.finished"])
    fleet_id = f"whf-{uuid.uuid4().hex[:6]}"
    members = [devices["fleet-1"], devices["invalid"]]
    started = await pipeline.post(
        f"/api/v1/fleets/{fleet_id}/provision",
        json={
            "template": request_body(site)["device"],
            "network": NETWORK,
            "devices": [{"device_id": d.device_id} for d in members],
        },
    )
    assert started.status == 202, await started.text()

    await receiver.wait_for_deliveries(1, within=40)

    [event] = receiver.verified(webhook["secret"])
    assert event["type"] == "fleet.finished"
    data = event["data"]
    assert (data["fleet_id"], data["state"], data["total"]) == (fleet_id, "COMPLETED", 2)
    assert (data["succeeded"], data["failed"]) == (1, 1)
    assert data["failures_by_code"] == {"PRE_CHECK_FAILED": 1}
