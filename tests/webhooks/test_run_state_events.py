"""`run.state_changed`: runs of a tenant subscribed to it send each entry into and exit
from a state people act on, then their terminal state, in order per device, signed per
Standard Webhooks (verified with the `standardwebhooks` library); runs of a tenant that
is not subscribed schedule no activity for it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType as HistoryEventType
from temporalio.client import Client

from config.settings import WebhookSettings
from registry import DeviceRegistry
from simulators.http_wifi import SimulatedWifiDevice
from strategies.device_records import WebhookActivity
from tests.integration.conftest import NETWORK, POLICY_ENV, ApiClient, request_body
from tests.webhooks.conftest import Receiver, subscribe, webhook_pipeline

STATE_CHANGED = "run.state_changed"
NAMES = ("waits", "rolls-back", "late", "happy-off", "happy-on", "waits-off", "waits-on")


@pytest.fixture
def devices() -> dict[str, SimulatedWifiDevice]:
    made = {
        name: SimulatedWifiDevice(f"ws-{name}-{uuid.uuid4().hex[:6]}", join_delay=0.2)
        for name in NAMES
    }
    made["rolls-back"].faults = made["rolls-back"].faults.model_copy(update={"never_joins": True})
    made["late"].faults = made["late"].faults.model_copy(update={"unreachable": True})
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
        POLICY_ENV,
    ) as api:
        yield api


def run_path(device: SimulatedWifiDevice) -> str:
    return f"/api/v1/devices/{device.device_id}/provision"


async def until_state(api: ApiClient, path: str, *wanted: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            status: dict[str, Any] = await (await api.get(path)).json()
            if status.get("state") in wanted:
                return status
            await asyncio.sleep(0.1)


async def start(api: ApiClient, device: SimulatedWifiDevice, site: str, **body: Any) -> None:
    started = await api.post(run_path(device), json=request_body(site, **body))
    assert started.status == 202, await started.text()


def story(events: list[dict[str, Any]], device: SimulatedWifiDevice) -> list[tuple[str, ...]]:
    """A device's events in the order they first arrived: (type, state[, previous])."""
    seen: set[str] = set()
    told: list[tuple[str, ...]] = []
    for event in events:
        data = event["data"]
        if event["id"] in seen or data.get("device_id") != device.device_id:
            continue
        seen.add(event["id"])
        if event["type"] == STATE_CHANGED:
            told.append((STATE_CHANGED, data["state"], data["previous_state"]))
        else:
            told.append((event["type"], data["state"]))
    return told


async def test_a_subscribed_tenants_runs_send_their_state_changes_in_order(
    pipeline: ApiClient,
    receiver: Receiver,
    devices: dict[str, SimulatedWifiDevice],
    site: str,
) -> None:
    webhook = await subscribe(
        pipeline, receiver.url, [STATE_CHANGED, "run.succeeded", "run.failed"]
    )
    receiver.failing = True  # down while the runs go: every event waits and is retried
    waits, rolls_back, late = devices["waits"], devices["rolls-back"], devices["late"]
    await start(pipeline, waits, site, network=None)
    await start(pipeline, rolls_back, site)
    await start(pipeline, late, site)
    await until_state(pipeline, run_path(waits), "PENDING_NETWORK")
    credentials = await pipeline.post(f"{run_path(waits)}/credentials", json=NETWORK)
    assert credentials.status == 200, await credentials.text()
    await until_state(pipeline, run_path(late), "WAITING_FOR_DEVICE")
    late.faults = late.faults.model_copy(update={"unreachable": False})  # switched on
    for device in (waits, rolls_back, late):
        await until_state(pipeline, run_path(device), "SUCCEEDED", "ROLLED_BACK", "FAILED")
    receiver.failing = False

    await receiver.wait_for_deliveries(4 + 3 + 4, within=40)

    events = receiver.verified(webhook["secret"])
    assert story(events, waits) == [
        (STATE_CHANGED, "PENDING_NETWORK", "PRE_CHECK"),
        (STATE_CHANGED, "PROVISIONING", "PENDING_NETWORK"),
        (STATE_CHANGED, "SUCCEEDED", "CONFIRMING"),
        ("run.succeeded", "SUCCEEDED"),
    ]
    assert story(events, rolls_back) == [
        (STATE_CHANGED, "ROLLING_BACK", "CONFIRMING"),
        (STATE_CHANGED, "ROLLED_BACK", "ROLLING_BACK"),
        ("run.failed", "ROLLED_BACK"),
    ]
    assert story(events, late) == [
        (STATE_CHANGED, "WAITING_FOR_DEVICE", "DETECTING"),
        (STATE_CHANGED, "DETECTING", "WAITING_FOR_DEVICE"),
        (STATE_CHANGED, "SUCCEEDED", "CONFIRMING"),
        ("run.succeeded", "SUCCEEDED"),
    ]
    [pending_network] = [
        e for e in events if e["type"] == STATE_CHANGED and e["data"]["state"] == "PENDING_NETWORK"
    ]
    assert pending_network["data"]["awaiting"] == ["credentials", "retry"]
    assert pending_network["data"]["workflow_id"] == f"provision-{waits.device_id}"
    bodies = b"".join(r.body for r in receiver.requests)
    assert NETWORK["passphrase"].encode() not in bodies


async def scheduled_activities(client: Client, device: SimulatedWifiDevice) -> list[str]:
    """The activity types a device's run scheduled, in order, from its history."""
    handle = client.get_workflow_handle(f"provision-{device.device_id}")
    history = await handle.fetch_history()
    scheduled = HistoryEventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == scheduled
    ]


async def test_without_a_subscription_a_run_schedules_no_activity_for_state_changes(
    pipeline: ApiClient,
    receiver: Receiver,
    devices: dict[str, SimulatedWifiDevice],
    site: str,
    temporal_client: Client,
) -> None:
    await subscribe(pipeline, receiver.url, ["run.succeeded", "run.failed"])

    async def provision(device: SimulatedWifiDevice, *, waits: bool) -> list[str]:
        await start(pipeline, device, site, **({"network": None} if waits else {}))
        if waits:
            await until_state(pipeline, run_path(device), "PENDING_NETWORK")
            answer = await pipeline.post(f"{run_path(device)}/credentials", json=NETWORK)
            assert answer.status == 200, await answer.text()
        await until_state(pipeline, run_path(device), "SUCCEEDED")
        return await scheduled_activities(temporal_client, device)

    happy_off = await provision(devices["happy-off"], waits=False)
    waits_off = await provision(devices["waits-off"], waits=True)
    await subscribe(pipeline, receiver.url, [STATE_CHANGED])
    happy_on = await provision(devices["happy-on"], waits=False)
    waits_on = await provision(devices["waits-on"], waits=True)

    publish = WebhookActivity.PUBLISH_BATCH.name
    assert publish not in happy_off + waits_off
    # A run that waits for no one has no state to tell before its end, which its
    # outcome's activity carries: it costs nothing more even when subscribed.
    assert happy_on == happy_off
    assert [name for name in waits_on if name != publish] == waits_off
    assert 1 <= waits_on.count(publish) <= 2


async def test_a_fleets_devices_and_a_decommission_send_their_ends_as_state_changes(
    pipeline: ApiClient,
    receiver: Receiver,
    devices: dict[str, SimulatedWifiDevice],
    site: str,
) -> None:
    webhook = await subscribe(pipeline, receiver.url, [STATE_CHANGED])
    member = devices["happy-on"]
    fleet_id = f"wsf-{uuid.uuid4().hex[:6]}"
    started = await pipeline.post(
        f"/api/v1/fleets/{fleet_id}/provision",
        json={
            "template": request_body(site)["device"],
            "network": NETWORK,
            "devices": [{"device_id": member.device_id}],
        },
    )
    assert started.status == 202, await started.text()
    await receiver.wait_for_deliveries(1, within=40)
    decommission = await pipeline.post(f"/api/v1/devices/{member.device_id}/decommission")
    assert decommission.status == 202, await decommission.text()

    async with asyncio.timeout(40):
        while not any(
            e["data"]["kind"] == "decommission" and e["data"]["state"] == "SUCCEEDED"
            for e in receiver.verified(webhook["secret"])
        ):
            await asyncio.sleep(0.1)

    provisioned, *decommissioned = receiver.verified(webhook["secret"])
    assert provisioned["type"] == STATE_CHANGED
    assert provisioned["data"]["fleet_id"] == fleet_id
    assert (provisioned["data"]["kind"], provisioned["data"]["state"]) == ("provision", "SUCCEEDED")
    # Its undo steps run as a rollback does: the run shows ROLLING_BACK meanwhile.
    assert [(e["data"]["kind"], e["data"]["state"]) for e in decommissioned] == [
        ("decommission", "ROLLING_BACK"),
        ("decommission", "SUCCEEDED"),
    ]
