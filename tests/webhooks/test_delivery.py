"""Delivery from the outbox: retries while a receiver is down, order per device, a worker
restart, the dead letter and redelivery by hand, and the secret kept out of sight."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from config.settings import WebhookSettings
from domain.webhooks import (
    WEBHOOK_DELIVERY_WORKFLOW,
    WEBHOOK_KICK_SIGNAL,
    EventType,
    WebhookDeliveryRun,
    WebhookEvent,
    delivery_workflow_id,
)
from registry import DeviceRegistry
from registry.webhooks import WebhookStore
from tests.integration.conftest import Everything
from tests.integration.test_secret_scan import spellings
from tests.webhooks.conftest import ApiClient, Receiver, subscribe, webhook_worker


async def publish(
    registry: DeviceRegistry, client: Client, queue: str, lane: str, sequence: int
) -> str:
    """Write one event of `lane` to the outbox and wake its subscribers' deliveries."""
    event = WebhookEvent(
        event_id=f"evt_{uuid.uuid4().hex}",
        tenant="default",
        type=EventType.RUN_SUCCEEDED,
        lane=lane,
        occurred_at=datetime.now(UTC),
        data={"device_id": lane, "sequence": sequence},
    )
    for subscription_id in await WebhookStore(registry.database).publish(event):
        await client.start_workflow(
            WEBHOOK_DELIVERY_WORKFLOW,
            WebhookDeliveryRun(subscription_id=subscription_id, poll_seconds=1.0),
            id=delivery_workflow_id(subscription_id),
            task_queue=queue,
            start_signal=WEBHOOK_KICK_SIGNAL,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    return event.event_id


async def deliveries(api: ApiClient, webhook_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
    assert response.status == 200, await response.text()
    items: list[dict[str, Any]] = (await response.json())["items"]
    return items


async def wait_until(api: ApiClient, webhook_id: str, event_id: str, status: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            for item in await deliveries(api, webhook_id):
                if item["event_id"] == event_id and item["status"] == status:
                    return item
            await asyncio.sleep(0.1)


def first_arrivals(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Each lane's sequence numbers in the order they first arrived."""
    seen: set[str] = set()
    lanes: dict[str, list[int]] = {}
    for event in events:
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        lanes.setdefault(event["data"]["device_id"], []).append(event["data"]["sequence"])
    return lanes


async def test_a_receiver_down_for_a_while_gets_every_event_afterwards_in_order_per_device(
    webhook_api: ApiClient,
    receiver: Receiver,
    device_registry: DeviceRegistry,
    temporal_client: Client,
    central_queue: str,
    webhook_settings: WebhookSettings,
) -> None:
    webhook = await subscribe(webhook_api, receiver.url, ["run.succeeded"])
    receiver.failing = True
    async with webhook_worker(temporal_client, central_queue, device_registry, webhook_settings):
        for sequence in range(4):
            for lane in ("device-a", "device-b", "device-c"):
                await publish(device_registry, temporal_client, central_queue, lane, sequence)
        async with asyncio.timeout(10):
            while len(receiver.requests) < 6:  # tried, refused, tried again
                await asyncio.sleep(0.05)
        receiver.failing = False

        await receiver.wait_for_deliveries(12)

    events = receiver.verified(webhook["secret"])
    assert first_arrivals(events) == {
        lane: [0, 1, 2, 3] for lane in ("device-a", "device-b", "device-c")
    }
    assert {r.answered for r in receiver.requests} == {200, 503}
    log = await deliveries(webhook_api, webhook["id"])
    assert {item["status"] for item in log} == {"delivered"}
    assert max(item["attempts"] for item in log) > 1


async def test_events_written_while_no_worker_runs_are_delivered_after_a_restart(
    webhook_api: ApiClient,
    receiver: Receiver,
    device_registry: DeviceRegistry,
    temporal_client: Client,
    central_queue: str,
    webhook_settings: WebhookSettings,
) -> None:
    webhook = await subscribe(webhook_api, receiver.url, ["run.succeeded"])
    receiver.failing = True
    async with webhook_worker(temporal_client, central_queue, device_registry, webhook_settings):
        await publish(device_registry, temporal_client, central_queue, "device-a", 0)
        async with asyncio.timeout(10):
            while not receiver.requests:
                await asyncio.sleep(0.05)
    # The worker is gone; more events arrive and the receiver comes back meanwhile.
    await publish(device_registry, temporal_client, central_queue, "device-a", 1)
    receiver.failing = False
    async with webhook_worker(temporal_client, central_queue, device_registry, webhook_settings):
        await receiver.wait_for_deliveries(2)

    assert first_arrivals(receiver.verified(webhook["secret"])) == {"device-a": [0, 1]}


async def test_an_undeliverable_event_goes_to_the_dead_letter_and_is_redelivered_by_hand(
    webhook_api: ApiClient,
    receiver: Receiver,
    device_registry: DeviceRegistry,
    temporal_client: Client,
    central_queue: str,
    webhook_settings: WebhookSettings,
) -> None:
    short_lived = webhook_settings.model_copy(update={"max_age_seconds": 1.0})
    webhook = await subscribe(webhook_api, receiver.url, ["run.succeeded"])
    receiver.failing = True
    async with webhook_worker(temporal_client, central_queue, device_registry, short_lived):
        event_id = await publish(device_registry, temporal_client, central_queue, "device-a", 0)
        dead = await wait_until(webhook_api, webhook["id"], event_id, "dead")
        assert dead["attempts"] >= 2
        assert dead["last_status_code"] == 503
        assert dead["next_try_at"] is None
        assert receiver.delivered == []

        receiver.failing = False
        redelivered = await webhook_api.post(
            f"/api/v1/webhooks/{webhook['id']}/deliveries/{event_id}/redeliver"
        )
        assert redelivered.status == 202, await redelivered.text()
        delivered = await wait_until(webhook_api, webhook["id"], event_id, "delivered")

    assert delivered["last_status_code"] == 200
    assert [e["id"] for e in receiver.verified(webhook["secret"])] == [event_id]


async def test_the_signing_secret_is_nowhere_in_clear(
    webhook_api: ApiClient,
    receiver: Receiver,
    device_registry: DeviceRegistry,
    temporal_client: Client,
    central_queue: str,
    webhook_settings: WebhookSettings,
    logs: Everything,
) -> None:
    webhook = await subscribe(webhook_api, receiver.url, ["run.succeeded"])
    secret = webhook["secret"]
    async with webhook_worker(temporal_client, central_queue, device_registry, webhook_settings):
        await publish(device_registry, temporal_client, central_queue, "device-a", 0)
        await receiver.wait_for_deliveries(1)
    handle = temporal_client.get_workflow_handle(delivery_workflow_id(webhook["id"]))
    history = (await handle.fetch_history()).to_json()
    rows = await device_registry.database.read(
        lambda connection: connection.execute(text("SELECT * FROM webhook_subscriptions")).all()
    )
    listed = await (await webhook_api.get("/api/v1/webhooks")).text()
    shown = await (await webhook_api.get(f"/api/v1/webhooks/{webhook['id']}")).text()
    log = await (await webhook_api.get(f"/api/v1/webhooks/{webhook['id']}/deliveries")).text()

    surfaces = {
        "delivery history": history,
        "registry": repr(rows),
        "listing": listed,
        "webhook": shown,
        "delivery log": log,
        "logs": "\n".join(logs.text),
    }
    raw = secret.removeprefix("whsec_")
    for name, content in surfaces.items():
        for form in [secret, raw, *spellings(raw)[1:]]:
            assert form not in content, f"the secret shows in the {name}"
    assert receiver.verified(secret)  # and it is the secret the receiver verifies with
