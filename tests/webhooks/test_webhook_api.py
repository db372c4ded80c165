"""The webhook routes: the outbound-request policy on target URLs, tenants kept apart,
the `webhooks` scope, and the delivery side's own check of the address it connects to."""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from aiohttp.test_utils import TestServer
from temporalio.client import Client

from adapters.webhooks import WebhookSender, webhook_policy
from api.app import ApiDependencies, create_app
from api.auth import AuthConfig, KeyStore, Scope, new_key
from config.policies import load_policy_book
from config.settings import ApiSettings, Settings, WebhookSettings
from registry import DeviceRegistry
from strategies.catalog import build_registry
from tests.webhooks.conftest import ApiClient, Receiver

OWNER, OWNER_STORED = new_key("tenant-a", [Scope.WEBHOOKS], key_id="hooksa")
STRANGER, STRANGER_STORED = new_key("tenant-b", [Scope.ADMIN], key_id="adminb")
READER, READER_STORED = new_key("tenant-a", [Scope.READ, Scope.PROVISION], key_id="readera")
WEBHOOKS = "/api/v1/webhooks"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def strict_api(
    temporal_client: Client,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    device_registry: DeviceRegistry,
    central_queue: str,
) -> ApiClient:
    """The API as deployed: keys for two tenants, private webhook targets refused."""
    deps = ApiDependencies(
        temporal=temporal_client,
        registry=build_registry(),
        policies=load_policy_book(environ={}),
        settings=Settings(
            api=ApiSettings.defaults(),
            webhooks=WebhookSettings.defaults(allow_private=False),
        ),
        task_queue=central_queue,
        devices=device_registry,
        auth=AuthConfig(KeyStore([OWNER_STORED, STRANGER_STORED, READER_STORED])),
    )
    return await aiohttp_client(create_app(deps))


@pytest.mark.parametrize(
    "url",
    [
        "http://receiver.example/hook",
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://user:pw@receiver.example/hook",
    ],
)
async def test_a_target_the_outbound_policy_refuses_is_422_with_its_code(
    strict_api: ApiClient, url: str
) -> None:
    response = await strict_api.post(
        WEBHOOKS, json={"url": url, "events": ["run.failed"]}, headers=bearer(OWNER)
    )

    assert response.status == 422
    assert (await response.json())["code"] == "WEBHOOK_TARGET_NOT_ALLOWED"
    listed = await strict_api.get(WEBHOOKS, headers=bearer(OWNER))
    assert (await listed.json())["items"] == []


async def test_another_tenants_webhook_is_not_found_anywhere(strict_api: ApiClient) -> None:
    created = await strict_api.post(
        WEBHOOKS,
        json={"url": "https://receiver.example/hook", "events": ["run.succeeded"]},
        headers=bearer(OWNER),
    )
    assert created.status == 201, await created.text()
    webhook = await created.json()
    assert webhook["secret"].startswith("whsec_")
    one = f"{WEBHOOKS}/{webhook['id']}"
    event = "evt_" + "0" * 32

    answers = [
        await strict_api.get(one, headers=bearer(STRANGER)),
        await strict_api.get(f"{one}/deliveries", headers=bearer(STRANGER)),
        await strict_api.post(f"{one}/deliveries/{event}/redeliver", headers=bearer(STRANGER)),
        await strict_api.patch(one, json={"enabled": False}, headers=bearer(STRANGER)),
        await strict_api.post(f"{one}/rotate-secret", headers=bearer(STRANGER)),
        await strict_api.delete(one, headers=bearer(STRANGER)),
    ]
    theirs = await (await strict_api.get(WEBHOOKS, headers=bearer(STRANGER))).json()
    mine = await (await strict_api.get(one, headers=bearer(OWNER))).json()

    assert [a.status for a in answers] == [404] * 6
    assert {(await a.json())["code"] for a in answers} == {"NOT_FOUND"}
    assert theirs["items"] == []
    assert mine["id"] == webhook["id"]
    assert mine["enabled"] is True
    assert "secret" not in mine


async def test_only_keys_with_the_webhooks_scope_manage_webhooks(strict_api: ApiClient) -> None:
    body = {"url": "https://receiver.example/hook", "events": ["run.succeeded"]}

    created = await (await strict_api.post(WEBHOOKS, json=body, headers=bearer(OWNER))).json()
    one = f"{WEBHOOKS}/{created['id']}"

    answers = [
        await strict_api.post(WEBHOOKS, json=body, headers=bearer(READER)),
        await strict_api.get(WEBHOOKS, headers=bearer(READER)),
        await strict_api.patch(one, json={"enabled": False}, headers=bearer(READER)),
        await strict_api.post(f"{one}/rotate-secret", headers=bearer(READER)),
    ]

    assert [a.status for a in answers] == [403] * 4
    assert {(await a.json())["code"] for a in answers} == {"FORBIDDEN"}


async def test_the_sender_refuses_a_name_that_resolves_to_loopback(receiver: Receiver) -> None:
    named = receiver.url.replace("127.0.0.1", "localhost").replace("http:", "https:")
    sender = WebhookSender(webhook_policy(allow_private=False).client())
    secret = "whsec_" + "A" * 32
    try:
        result = await sender.send(named, secret, "evt_" + "1" * 32, datetime.now(UTC), {})
    finally:
        await sender.close()

    assert (result.delivered, result.status_code) == (False, None)
    assert "outbound policy" in (result.error or "")
    assert receiver.requests == []


async def test_the_sender_signs_so_that_the_receiver_verifies(receiver: Receiver) -> None:
    sender = WebhookSender(httpx.AsyncClient(trust_env=False))
    secret = "whsec_" + "B" * 32
    payload = {"type": "run.succeeded", "timestamp": "2026-12-04T00:00:00+00:00", "data": {}}
    try:
        result = await sender.send(
            receiver.url, secret, "evt_" + "2" * 32, datetime.now(UTC), payload
        )
    finally:
        await sender.close()

    assert result.delivered
    assert receiver.verified(secret) == [{**payload, "id": "evt_" + "2" * 32}]


def _example_receiver() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "examples" / "webhook_receiver.py"
    spec = importlib.util.spec_from_file_location("webhook_receiver_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_example_receiver_takes_devprovs_events_and_refuses_forgeries(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:
    secret = "whsec_" + "C" * 32
    server = await aiohttp_server(_example_receiver().create_app(secret))
    url = str(server.make_url("/devprov"))
    sender = WebhookSender(httpx.AsyncClient(trust_env=False))
    event = {"type": "run.succeeded", "timestamp": "2026-12-04T00:00:00+00:00"}
    data = {"device_id": "d-1", "network_ssid": "lab"}
    try:
        signed = await sender.send(
            url, secret, "evt_" + "5" * 32, datetime.now(UTC), {**event, "data": data}
        )
        forged = await sender.send(
            url, "whsec_" + "D" * 32, "evt_" + "6" * 32, datetime.now(UTC), {**event, "data": data}
        )
    finally:
        await sender.close()

    assert (signed.status_code, forged.status_code) == (200, 401)
