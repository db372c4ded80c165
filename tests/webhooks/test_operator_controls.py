"""Operators' controls of a webhook: disable and enable it (its events wait meanwhile),
change its events, and rotate its secret with a grace period in which receivers verify
either secret (Standard Webhooks' several signatures, checked with `standardwebhooks`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError
from temporalio.client import Client, WorkflowExecutionStatus

from api.keys import WEBHOOKS
from config.settings import WebhookSettings
from domain.webhooks import delivery_workflow_id
from registry import DeviceRegistry
from tests.webhooks.conftest import ApiClient, Receiver, subscribe, webhook_worker
from tests.webhooks.test_delivery import deliveries, publish, wait_until

PATH = "/api/v1/webhooks"


async def patch(
    api: ApiClient, webhook_id: str, body: object, status: int = 200
) -> dict[str, object]:
    response = await api.patch(f"{PATH}/{webhook_id}", json=body)
    assert response.status == status, await response.text()
    answer: dict[str, object] = await response.json()
    return answer


async def rotate(api: ApiClient, webhook_id: str, **body: object) -> dict[str, str | None]:
    path = f"{PATH}/{webhook_id}/rotate-secret"
    response = await (api.post(path, json=body) if body else api.post(path))
    assert response.status == 200, await response.text()
    answer: dict[str, str | None] = await response.json()
    return answer


async def until_ended(client: Client, webhook_id: str) -> None:
    handle = client.get_workflow_handle(delivery_workflow_id(webhook_id))
    async with asyncio.timeout(10):
        while (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
            await asyncio.sleep(0.1)


async def test_a_disabled_webhook_gets_no_new_events_and_sends_its_waiting_ones_once_enabled(
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
        waiting = await publish(device_registry, temporal_client, central_queue, "device-a", 0)
        async with asyncio.timeout(10):
            while not receiver.requests:
                await asyncio.sleep(0.05)

        disabled = await patch(webhook_api, webhook["id"], {"enabled": False})
        await until_ended(temporal_client, webhook["id"])  # its delivery workflow stops
        receiver.failing = False
        await publish(device_registry, temporal_client, central_queue, "device-a", 1)
        await asyncio.sleep(2 * webhook_settings.poll_seconds)
        delivered_while_disabled = list(receiver.delivered)

        enabled = await patch(webhook_api, webhook["id"], {"enabled": True})
        await wait_until(webhook_api, webhook["id"], waiting, "delivered")

    assert (disabled["enabled"], enabled["enabled"]) == (False, True)
    assert delivered_while_disabled == []
    assert [e["id"] for e in receiver.verified(webhook["secret"])] == [waiting]
    assert [item["event_id"] for item in await deliveries(webhook_api, webhook["id"])] == [waiting]


async def test_only_an_enabled_subscription_to_state_changes_makes_runs_send_them(
    webhook_api: ApiClient, receiver: Receiver
) -> None:
    subscriptions = webhook_api.app[WEBHOOKS]
    webhook = await subscribe(webhook_api, receiver.url, ["run.succeeded"])
    before = await subscriptions.sends_run_states("default")

    await patch(webhook_api, webhook["id"], {"events": ["run.state_changed", "run.succeeded"]})
    subscribed = await subscriptions.sends_run_states("default")
    await patch(webhook_api, webhook["id"], {"enabled": False})
    disabled = await subscriptions.sends_run_states("default")

    assert (before, subscribed, disabled) == (False, True, False)


def verifies(secret: str, received: bytes, headers: dict[str, str]) -> bool:
    try:
        Verifier(secret).verify(received, headers)
    except WebhookVerificationError:
        return False
    return True


async def test_after_a_rotation_both_secrets_verify_until_the_grace_ends(
    webhook_api: ApiClient,
    receiver: Receiver,
    device_registry: DeviceRegistry,
    temporal_client: Client,
    central_queue: str,
    webhook_settings: WebhookSettings,
) -> None:
    webhook = await subscribe(webhook_api, receiver.url, ["run.succeeded"])
    first = str(webhook["secret"])
    async with webhook_worker(temporal_client, central_queue, device_registry, webhook_settings):
        rotated = await rotate(webhook_api, webhook["id"])
        shown = await (await webhook_api.get(f"{PATH}/{webhook['id']}")).json()
        await publish(device_registry, temporal_client, central_queue, "device-a", 0)
        await receiver.wait_for_deliveries(1)
        again = await rotate(webhook_api, webhook["id"], grace_seconds=0)
        await publish(device_registry, temporal_client, central_queue, "device-a", 1)
        await receiver.wait_for_deliveries(2)

    second, third = str(rotated["secret"]), str(again["secret"])
    assert len({first, second, third}) == 3
    assert second.startswith("whsec_")
    expires = datetime.fromisoformat(str(rotated["previous_secret_expires_at"]))
    grace = timedelta(seconds=webhook_settings.secret_grace_seconds)
    assert abs(expires - (datetime.now(UTC) + grace)) < timedelta(minutes=1)
    assert shown["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]
    assert "secret" not in shown
    assert again["previous_secret_expires_at"] is None
    in_grace, after = receiver.delivered
    assert len(in_grace.headers["webhook-signature"].split(" ")) == 2
    assert verifies(first, in_grace.body, in_grace.headers)
    assert verifies(second, in_grace.body, in_grace.headers)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verifies(third, after.body, after.headers)
    assert not verifies(second, after.body, after.headers)
    assert not verifies(first, after.body, after.headers)


@pytest.mark.parametrize(
    "body",
    [{}, {"enabled": None}, {"enabled": "no"}, {"events": []}, {"url": "https://x.example"}],
    ids=["empty", "null", "not-a-boolean", "no-events", "unknown-field"],
)
async def test_an_invalid_change_is_422_and_changes_nothing(
    webhook_api: ApiClient, receiver: Receiver, body: object
) -> None:
    webhook = await subscribe(webhook_api, receiver.url, ["run.succeeded"])

    problem = await patch(webhook_api, webhook["id"], body, status=422)

    assert problem["code"] == "INVALID_REQUEST"
    shown = await (await webhook_api.get(f"{PATH}/{webhook['id']}")).json()
    assert (shown["enabled"], shown["events"]) == (True, ["run.succeeded"])


async def test_controls_of_an_unknown_webhook_are_404_and_a_bad_grace_is_422(
    webhook_api: ApiClient, receiver: Receiver
) -> None:
    unknown = "wh_" + "0" * 24
    webhook = await subscribe(webhook_api, receiver.url, ["run.succeeded"])

    patched = await webhook_api.patch(f"{PATH}/{unknown}", json={"enabled": False})
    rotated = await webhook_api.post(f"{PATH}/{unknown}/rotate-secret")
    negative = await webhook_api.post(
        f"{PATH}/{webhook['id']}/rotate-secret", json={"grace_seconds": -1}
    )
    too_long = await webhook_api.post(
        f"{PATH}/{webhook['id']}/rotate-secret", json={"grace_seconds": 8 * 24 * 3600}
    )

    assert [(await r.json())["code"] for r in (patched, rotated)] == ["NOT_FOUND"] * 2
    assert (patched.status, rotated.status) == (404, 404)
    assert (negative.status, too_long.status) == (422, 422)
    assert (await negative.json())["code"] == "INVALID_REQUEST"
