"""Record the committed workflow histories replayed by `make test`.

    .venv/bin/python -m tests.histories.record              # every history
    .venv/bin/python -m tests.histories.record reprovision  # only those whose name has it

Runs each scenario against a fresh in-memory dev server with fake device activities
(the workflows are the real ones) and writes `tests/histories/<workflow id>.json`.
Re-record only on purpose: a history is a promise that runs started by older code keep
replaying on the new code.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

from aiohttp import web
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from config.policies import load_policy_book
from config.settings import WebhookSettings
from connection.codec import data_converter
from connection.secret_box import SecretBox
from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from domain.progress import ProvisionResult
from domain.registry import RunKind
from domain.requests import ProvisionRequest, ReprovisionPolicy, Transport
from domain.run import (
    CLIENT_BLE_RESULT_UPDATE,
    ProvisionRun,
    decommission_workflow_id_for,
    workflow_id_for,
)
from domain.states import ProvisioningState
from domain.webhooks import EventType, WebhookCreate, delivery_workflow_id
from registry import opened_registry
from registry.webhooks import WebhookStore
from services.webhooks import WebhookSubscriptions
from simulators.http_wifi.fleet import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID
from simulators.improv_ble import ImprovDeviceSpec
from simulators.improv_ble.handheld import HandheldImprovDevice
from strategies.http_wifi import HTTP_WIFI_DECOMMISSION
from strategies.improv_ble import IMPROV_BLE_SPEC
from tests.conftest import TEST_KEY_RING
from tests.fakes import FakeWifiDevice
from tests.improv_handheld import confirming_gateway, onboard_like_the_page
from tests.workflows.helpers import http_wifi_run, network, start_run, wait_for_state
from worker.workers import central_worker, edge_worker
from workflows import search_attributes as sa
from workflows.search_attributes import ALL_KEYS

HERE = Path(__file__).parent


async def _record(client: Client, name: str, device: FakeWifiDevice, scenario: str) -> None:
    site = f"rec{uuid.uuid4().hex[:6]}"
    queue = f"rec-{uuid.uuid4().hex[:6]}"
    async with (
        central_worker(client, task_queue=queue),
        edge_worker(client, site=site, activities=device.activities()),
    ):
        if scenario == "happy":
            handle = await start_run(
                client, http_wifi_run(device.device_id, site, with_network=network()), queue
            )
        elif scenario in ("credentials", "state-events"):
            run = http_wifi_run(device.device_id, site)
            if scenario == "state-events":  # as when its tenant subscribed to run.state_changed
                run = run.model_copy(update={"state_events": True})
            handle = await start_run(client, run, queue)
            await wait_for_state(handle, ProvisioningState.PENDING_NETWORK)
            await handle.execute_update("submit_credentials", network("wrong-passphrase"))
            await wait_for_state(handle, ProvisioningState.PENDING_NETWORK)
            await handle.execute_update("submit_credentials", network())
        elif scenario == "rolled-back":
            device.confirm_error = ErrorCode.NETWORK_JOIN_TIMEOUT
            handle = await start_run(
                client, http_wifi_run(device.device_id, site, with_network=network()), queue
            )
        else:
            device.block_confirm = True
            handle = await start_run(
                client, http_wifi_run(device.device_id, site, with_network=network()), queue
            )
            await wait_for_state(handle, ProvisioningState.CONFIRMING)
            await handle.cancel()
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        history = await handle.fetch_history()
    (HERE / f"{name}.json").write_text(history.to_json())
    print(f"recorded {name}: {len(history.events)} events")


async def record_decommission(client: Client, name: str, device: FakeWifiDevice) -> None:
    """A device provisioned, then taken out of service: the decommissioning run's history."""
    site = f"rec{uuid.uuid4().hex[:6]}"
    queue = f"rec-{uuid.uuid4().hex[:6]}"
    async with (
        central_worker(client, task_queue=queue),
        edge_worker(client, site=site, activities=device.activities()),
    ):
        provision = http_wifi_run(device.device_id, site, with_network=network())
        await (await start_run(client, provision, queue)).result()
        run = provision.model_copy(
            update={
                "kind": RunKind.DECOMMISSION,
                "request": ProvisionRequest(device=provision.request.device),
            }
        )
        handle = await client.start_workflow(
            HTTP_WIFI_DECOMMISSION.workflow,
            run,
            id=decommission_workflow_id_for(device.device_id),
            task_queue=queue,
            result_type=ProvisionResult,
            search_attributes=sa.initial_search_attributes(run),
        )
        await handle.result()
        history = await handle.fetch_history()
    (HERE / f"{name}.json").write_text(history.to_json())
    print(f"recorded {name}: {len(history.events)} events")


async def record_reprovision(
    client: Client, name: str, device: FakeWifiDevice, policy: ReprovisionPolicy
) -> None:
    """A device provisioned, then provisioned again with `policy` in one run (`reset`:
    the reset phase, then the provision phase; `migrate`: to another network)."""
    site = f"rec{uuid.uuid4().hex[:6]}"
    queue = f"rec-{uuid.uuid4().hex[:6]}"
    async with (
        central_worker(client, task_queue=queue),
        edge_worker(client, site=site, activities=device.activities()),
    ):
        provision = http_wifi_run(device.device_id, site, with_network=network())
        await (await start_run(client, provision, queue)).result()
        request = provision.request.model_copy(
            update={"reprovision": policy, "network": network(ssid="history-net-2")}
        )
        handle = await start_run(client, provision.model_copy(update={"request": request}), queue)
        await handle.result()
        history = await handle.fetch_history()
    (HERE / f"{name}.json").write_text(history.to_json())
    print(f"recorded {name}: {len(history.events)} events")


async def record_client_ble(client: Client, name: str) -> None:
    """An Improv device onboarded from the installer's browser (`client-ble`): a wrong
    passphrase reported (the run keeps waiting), then the right one, then the
    confirmation at its web page from the site's gateway."""
    site = f"rec{uuid.uuid4().hex[:6]}"
    queue = f"rec-{uuid.uuid4().hex[:6]}"
    spec = ImprovDeviceSpec(device_id="history-client-ble", join_delay=0.2)
    async with (
        HandheldImprovDevice(spec) as bulb,
        central_worker(client, task_queue=queue),
        confirming_gateway(client, site),
    ):
        device = DeviceDescriptor(
            device_id=spec.device_id,
            type="wifi-light",
            vendor="esphome",
            capabilities=frozenset({"ble", "improv", "wifi"}),
            site=site,
        )
        run = ProvisionRun(
            request=ProvisionRequest(device=device, transport=Transport.CLIENT_BLE),
            strategy=IMPROV_BLE_SPEC.name,
            policy=load_policy_book(environ={}).for_strategy(IMPROV_BLE_SPEC.name),
        )
        handle = await client.start_workflow(
            IMPROV_BLE_SPEC.workflow,
            run,
            id=workflow_id_for(spec.device_id),
            task_queue=queue,
            result_type=ProvisionResult,
            search_attributes=sa.initial_search_attributes(run),
        )
        for passphrase in ("not-the-passphrase", LAB_NETWORK_PASSPHRASE):
            await wait_for_state(handle, ProvisioningState.WAITING_FOR_DEVICE)
            report = await onboard_like_the_page(bulb, LAB_NETWORK_SSID, passphrase)
            await handle.execute_update(CLIENT_BLE_RESULT_UPDATE, report)
        await handle.result()
        history = await handle.fetch_history()
    (HERE / f"{name}.json").write_text(history.to_json())
    print(f"recorded {name}: {len(history.events)} events")


async def record_webhook_events(name: str) -> None:
    """A run whose end sends a webhook event, and the delivery workflow that sends it
    (encrypted with the tests' key ring: the delivery opens the webhook's secret with it)."""
    binary = shutil.which("temporal")
    assert binary, "run with .venv/bin on PATH"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary,
        data_converter=data_converter(TEST_KEY_RING),
        search_attributes=ALL_KEYS,
    )
    received = asyncio.Event()

    async def receive(_: web.Request) -> web.Response:
        received.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    settings = WebhookSettings.defaults(allow_private=True, poll_seconds=1.0)
    client = env.client
    device = FakeWifiDevice(device_id="history-webhook-events")
    site = f"rec{uuid.uuid4().hex[:6]}"
    queue = f"rec-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as directory:
        try:
            async with opened_registry(f"sqlite+aiosqlite:///{directory}/registry.db") as devices:
                subscriptions = WebhookSubscriptions(
                    WebhookStore(devices.database),
                    client,
                    queue,
                    SecretBox(TEST_KEY_RING),
                    allow_private=True,
                    poll_seconds=1.0,
                )
                created = await subscriptions.create(
                    "default", WebhookCreate(url=url, events=[EventType.RUN_SUCCEEDED])
                )
                async with (
                    central_worker(client, task_queue=queue, registry=devices, webhooks=settings),
                    edge_worker(client, site=site, activities=device.activities()),
                ):
                    run = http_wifi_run(device.device_id, site, with_network=network())
                    handle = await start_run(client, run, queue)
                    await handle.result()
                    await asyncio.wait_for(received.wait(), 30)
                    await asyncio.sleep(0.5)
                    history = await handle.fetch_history()
                    delivery = client.get_workflow_handle(delivery_workflow_id(created.id))
                    delivery_history = await delivery.fetch_history()
        finally:
            await runner.cleanup()
            await env.shutdown()
    (HERE / f"{name}.json").write_text(history.to_json())
    (HERE / "webhook-delivery.json").write_text(delivery_history.to_json())
    print(f"recorded {name}: {len(history.events)} events")
    print(f"recorded webhook-delivery: {len(delivery_history.events)} events")


async def main(only: str | None = None) -> None:
    binary = shutil.which("temporal")
    assert binary, "run with .venv/bin on PATH"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary,
        data_converter=pydantic_data_converter,
        search_attributes=ALL_KEYS,
    )
    try:
        for scenario in ("happy", "credentials", "rolled-back", "cancelled"):
            if only is None or only in scenario:
                device = FakeWifiDevice(device_id=f"history-{scenario}")
                await _record(env.client, f"http-wifi-{scenario}", device, scenario)
        if only is None or only in "http-wifi-state-events":
            device = FakeWifiDevice(device_id="history-state-events")
            await _record(env.client, "http-wifi-state-events", device, "state-events")
        if only is None or only in "decommission":
            device = FakeWifiDevice(device_id="history-decommission")
            await record_decommission(env.client, "http-wifi-decommission", device)
        for policy in (ReprovisionPolicy.RESET, ReprovisionPolicy.MIGRATE):
            name = f"http-wifi-reprovision-{policy.value}"
            if only is None or only in name:
                device = FakeWifiDevice(device_id=f"history-reprovision-{policy.value}")
                await record_reprovision(env.client, name, device, policy)
        if only is None or only in "improv-ble-client-ble":
            await record_client_ble(env.client, "improv-ble-client-ble")
    finally:
        await env.shutdown()
    if only is None or only in "http-wifi-webhook-events":
        await record_webhook_events("http-wifi-webhook-events")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
