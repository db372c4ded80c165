"""Improv onboarding from the installer's browser (`transport: client-ble`), through the
API, Temporal and a real edge worker, with the page's part played in Python.

The device is a `HandheldImprovDevice` (the simulator's state machine, no radio of
ours); the gateway's radio hears nothing, so every device-side effect comes from the
"page", and the run's confirmation from the device's web page on the LAN. The same flow
through the real console and Chrome's Bluetooth emulation: tests/browser/
test_console_web_bluetooth.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from temporalio.client import Client

from config.policies import load_policy_book
from simulators.http_wifi.fleet import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID
from simulators.improv_ble import ImprovDeviceFaults, ImprovDeviceSpec
from simulators.improv_ble.handheld import HandheldImprovDevice
from tests.improv_handheld import confirming_gateway, onboard_like_the_page
from tests.integration.conftest import ApiClient, serve_api
from worker.workers import central_worker

POLICY_ENV = {
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "60s",
    "DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__CONFIRM__START_TO_CLOSE": "5s",
    **{
        f"DEVPROV_POLICY__DEFAULTS__STEPS__{step}__RETRY__INITIAL_INTERVAL": "100ms"
        for step in ("DETECT", "PRE_CHECK", "PROVISION", "CONFIRM", "ROLLBACK")
    },
}


def browser_body(site: str) -> dict[str, Any]:
    return {
        "device": {
            "type": "wifi-light",
            "vendor": "esphome",
            "capabilities": ["ble", "improv", "wifi"],
            "site": site,
        },
        "transport": "client-ble",
    }


def path(device_id: str, action: str = "") -> str:
    base = f"/api/v1/devices/{device_id}/provision"
    return f"{base}/{action}" if action else base


@pytest.fixture
async def api(
    temporal_client: Client,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    site: str,
) -> AsyncIterator[ApiClient]:
    queue = f"central-{uuid.uuid4().hex[:8]}"
    async with (
        central_worker(temporal_client, task_queue=queue),
        confirming_gateway(temporal_client, site),
    ):
        yield await serve_api(
            temporal_client,
            aiohttp_client,
            task_queue=queue,
            policies=load_policy_book(environ=POLICY_ENV),
        )


@pytest.fixture
async def bulb() -> AsyncIterator[HandheldImprovDevice]:
    spec = ImprovDeviceSpec(device_id=f"bulb-{uuid.uuid4().hex[:6]}", join_delay=0.3)
    async with HandheldImprovDevice(spec) as device:
        yield device


async def wait_until(
    api: ApiClient, device_id: str, accept: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            response = await api.get(path(device_id))
            status: dict[str, Any] = await response.json()
            if accept(status):
                return status
            await asyncio.sleep(0.1)


async def waiting_for_the_browser(api: ApiClient, device_id: str) -> dict[str, Any]:
    return await wait_until(api, device_id, lambda s: "client-ble" in s.get("awaiting", []))


async def test_a_device_onboarded_from_the_browser_is_confirmed_on_its_network(
    api: ApiClient, bulb: HandheldImprovDevice, site: str
) -> None:
    device_id = bulb.device.device_id
    started = await api.post(path(device_id), json=browser_body(site))
    assert started.status == 202, await started.text()

    waiting = await waiting_for_the_browser(api, device_id)
    assert waiting["state"] == "WAITING_FOR_DEVICE"
    assert waiting["message"].startswith("connect from your phone")
    prompt = waiting["events"][-1]["details"]
    assert prompt == {"transport": "client-ble", "ble_name": device_id}
    report = await onboard_like_the_page(bulb, LAB_NETWORK_SSID, LAB_NETWORK_PASSPHRASE)
    answer = await api.post(
        path(device_id, "client-ble-result"), json=report.model_dump(mode="json")
    )
    assert answer.status == 200, await answer.text()

    done = await wait_until(api, device_id, lambda s: s["state"] == "SUCCEEDED")
    assert f"device joined '{LAB_NETWORK_SSID}'" in done["message"]
    assert done["network_ssid"] == LAB_NETWORK_SSID
    assert bulb.device.wifi.joined
    assert bulb.device.wifi.ssid == LAB_NETWORK_SSID
    assert bulb.device.counters.identifies == 1
    states = [event["state"] for event in done["events"]]
    assert states.index("WAITING_FOR_DEVICE") < states.index("CONFIRMING")
    assert LAB_NETWORK_PASSPHRASE not in str(done)


async def test_wrong_credentials_on_the_phone_keep_the_run_waiting_and_show_it(
    api: ApiClient, bulb: HandheldImprovDevice, site: str
) -> None:
    device_id = bulb.device.device_id
    await api.post(path(device_id), json=browser_body(site))
    await waiting_for_the_browser(api, device_id)

    report = await onboard_like_the_page(bulb, LAB_NETWORK_SSID, "not-the-passphrase")
    answer = await api.post(
        path(device_id, "client-ble-result"), json=report.model_dump(mode="json")
    )

    assert answer.status == 200, await answer.text()
    shown = await answer.json()
    assert shown["state"] == "WAITING_FOR_DEVICE"
    assert shown["error_code"] == "CREDENTIALS_REJECTED"
    assert "could not join 'devprov-lab'" in shown["message"]
    assert shown["awaiting"] == ["client-ble", "retry"]
    assert bulb.device.counters.join_failures == 1
    # The installer corrects the passphrase on the page: the same run goes on.
    report = await onboard_like_the_page(bulb, LAB_NETWORK_SSID, LAB_NETWORK_PASSPHRASE)
    await api.post(path(device_id, "client-ble-result"), json=report.model_dump(mode="json"))
    done = await wait_until(api, device_id, lambda s: s["state"] == "SUCCEEDED")
    assert done["attempt"] == 1


async def test_a_browser_run_takes_no_credentials_and_no_report_for_another_device(
    api: ApiClient, bulb: HandheldImprovDevice, site: str
) -> None:
    device_id = bulb.device.device_id
    network = {"ssid": LAB_NETWORK_SSID, "passphrase": LAB_NETWORK_PASSPHRASE}
    refused = await api.post(path(device_id), json={**browser_body(site), "network": network})
    assert refused.status == 422
    await api.post(path(device_id), json=browser_body(site))
    await waiting_for_the_browser(api, device_id)

    credentials = await api.post(path(device_id, "credentials"), json=network)
    other = await api.post(
        path(device_id, "client-ble-result"),
        json={"outcome": "provisioned", "ssid": "devprov-lab", "device_name": "someone-else"},
    )

    assert credentials.status == 409
    assert (await credentials.json())["code"] == "RUN_NOT_WAITING"
    assert other.status == 409
    assert (await other.json())["code"] == "DEVICE_MISMATCH"
    cancelled = await api.post(path(device_id, "cancel"))
    assert cancelled.status == 202
    ended = await wait_until(api, device_id, lambda s: s["state"] in {"ROLLED_BACK", "CANCELLED"})
    assert any("nothing to undo from here" in e["message"] for e in ended["events"])


async def test_a_gateway_only_strategy_refuses_the_browser_transport(
    api: ApiClient, site: str
) -> None:
    body = {
        "device": {
            "type": "wifi-relay",
            "vendor": "shelly",
            "capabilities": ["wifi", "http-rpc"],
            "site": site,
        },
        "transport": "client-ble",
    }
    response = await api.post(path("relay-x1"), json=body)

    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == "TRANSPORT_UNSUPPORTED"


async def test_a_device_provisioned_before_fails_the_pre_check_and_is_left_alone(
    api: ApiClient, site: str
) -> None:
    spec = ImprovDeviceSpec(
        device_id=f"bulb-{uuid.uuid4().hex[:6]}",
        faults=ImprovDeviceFaults(already_provisioned=True),
    )
    async with HandheldImprovDevice(spec) as bulb:
        device_id = spec.device_id
        await api.post(path(device_id), json=browser_body(site))
        await waiting_for_the_browser(api, device_id)

        report = await onboard_like_the_page(bulb, LAB_NETWORK_SSID, LAB_NETWORK_PASSPHRASE)
        await api.post(path(device_id, "client-ble-result"), json=report.model_dump(mode="json"))

        ended = await wait_until(api, device_id, lambda s: s["state"] == "FAILED_VALIDATION")
        assert ended["error_code"] == "PRE_CHECK_FAILED"
        assert any("already provisioned" in reason for reason in ended["reasons"])
        assert bulb.device.counters.credentials_received == 0
        assert bulb.device.counters.factory_resets == 0
