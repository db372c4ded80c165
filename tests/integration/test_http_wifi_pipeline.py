"""Provisioning simulated HTTP Wi-Fi devices through the API, asserting what they saw."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from simulators.http_wifi import SimulatedWifiDevice
from tests.integration.conftest import NETWORK, ApiClient, request_body
from tests.sse import parse_sse


def run_path(device: SimulatedWifiDevice, action: str = "") -> str:
    base = f"/api/v1/devices/{device.device_id}/provision"
    return f"{base}/{action}" if action else base


async def follow(api: ApiClient, device: SimulatedWifiDevice) -> list[dict[str, Any]]:
    """The whole SSE stream of the device's run (it ends after the terminal event)."""
    async with asyncio.timeout(60):
        response = await api.get(run_path(device, "events"))
        assert response.status == 200
        return [event.data for event in parse_sse(await response.text())]


async def wait_for(api: ApiClient, device: SimulatedWifiDevice, state: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            body: dict[str, Any] = await (await api.get(run_path(device))).json()
            if body.get("state") == state:
                return body
            await asyncio.sleep(0.1)


def states(events: list[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for event in events:
        if not seen or seen[-1] != event["state"]:
            seen.append(event["state"])
    return seen


def set_faults(device: SimulatedWifiDevice, **knobs: Any) -> None:
    device.faults = device.faults.model_copy(update=knobs)


async def test_device_joins_its_network_and_was_configured_once(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    started = await pipeline.post(run_path(device), json=request_body(site))
    assert started.status == 202

    events = await follow(pipeline, device)

    assert states(events) == [
        "PENDING",
        "DETECTING",
        "PRE_CHECK",
        "PROVISIONING",
        "CONFIRMING",
        "SUCCEEDED",
    ]
    assert device.sta.ssid == "devprov-lab"
    assert device.counters.wifi_config_writes == 1
    assert device.counters.factory_resets == 0


async def test_a_run_started_beside_its_central_worker_takes_its_first_task_eagerly(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str, temporal_client: Client
) -> None:
    """The API and the central worker share one client here, as under `make run`: the
    server hands the run's first workflow task back in the start's answer (eager start),
    and records it started with the start itself — with no history size, which a task
    polled from the task queue always carries."""
    started = await pipeline.post(run_path(device), json=request_body(site))
    assert started.status == 202
    run = await started.json()
    events = await follow(pipeline, device)
    assert events[-1]["state"] == "SUCCEEDED"

    handle = temporal_client.get_workflow_handle(run["workflow_id"], run_id=run["run_id"])
    tasks = [
        event.workflow_task_started_event_attributes
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    ]
    assert tasks[0].history_size_bytes == 0  # dispatched eagerly
    assert all(task.history_size_bytes > 0 for task in tasks[1:])  # polled
    assert device.counters.wifi_config_writes == 1


async def test_device_that_never_joins_is_rolled_back_to_set_up_mode(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    set_faults(device, never_joins=True)
    await pipeline.post(run_path(device), json=request_body(site))

    events = await follow(pipeline, device)

    assert states(events)[-3:] == ["CONFIRMING", "ROLLING_BACK", "ROLLED_BACK"]
    assert events[-1]["error_code"] == "NETWORK_JOIN_TIMEOUT"
    assert device.counters.factory_resets == 1
    assert device.in_setup_mode


async def test_cancel_while_joining_rolls_the_device_back(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    set_faults(device, slow_join=60.0)
    await pipeline.post(run_path(device), json=request_body(site))
    await wait_for(pipeline, device, "CONFIRMING")

    cancelled = await pipeline.post(run_path(device, "cancel"))
    assert cancelled.status == 202

    final = await wait_for(pipeline, device, "ROLLED_BACK")
    assert final["error_code"] == "CANCELLED_BY_USER"
    assert device.counters.factory_resets == 1
    assert device.in_setup_mode


async def test_wrong_passphrase_waits_for_new_credentials_then_succeeds(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    wrong = {"ssid": "devprov-lab", "passphrase": "not-the-passphrase"}
    await pipeline.post(run_path(device), json=request_body(site, network=wrong))
    waiting = await wait_for(pipeline, device, "PENDING_NETWORK")
    assert waiting["error_code"] == "CREDENTIALS_REJECTED"

    answered = await pipeline.post(run_path(device, "credentials"), json=NETWORK)
    assert answered.status == 200

    assert (await wait_for(pipeline, device, "SUCCEEDED"))["network_ssid"] == "devprov-lab"
    assert device.counters.wifi_config_writes == 2
    assert device.counters.factory_resets == 0


async def test_connection_dropped_after_apply_is_retried_without_applying_twice(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    set_faults(device, drop_after_apply=1)
    await pipeline.post(run_path(device), json=request_body(site))

    events = await follow(pipeline, device)

    assert events[-1]["state"] == "SUCCEEDED"
    assert device.counters.set_config_calls == 2
    assert device.counters.wifi_config_writes == 1


async def test_unreachable_device_is_waited_for_until_it_answers(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    set_faults(device, unreachable=True)
    await pipeline.post(run_path(device), json=request_body(site))
    waiting = await wait_for(pipeline, device, "WAITING_FOR_DEVICE")
    assert waiting["awaiting"] == ["device", "retry"]

    set_faults(device, unreachable=False)

    assert (await wait_for(pipeline, device, "SUCCEEDED"))["state"] == "SUCCEEDED"


async def test_busy_device_is_retried_after_its_hint(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    set_faults(device, busy=1, busy_retry_after=0.2)
    await pipeline.post(run_path(device), json=request_body(site))

    events = await follow(pipeline, device)

    assert events[-1]["state"] == "SUCCEEDED"
    assert "WAITING_FOR_DEVICE" not in states(events)
    assert device.counters.rpc_calls["Shelly.GetDeviceInfo"] >= 2


async def test_device_with_authentication_on_fails_validation_untouched(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    device.auth_enabled = True
    await pipeline.post(run_path(device), json=request_body(site))

    events = await follow(pipeline, device)

    assert events[-1]["state"] == "FAILED_VALIDATION"
    status = await (await pipeline.get(run_path(device))).json()
    assert any("authentication enabled" in reason for reason in status["reasons"])
    assert device.counters.set_config_calls == 0


async def test_passphrase_never_appears_in_responses_or_events(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    started = await pipeline.post(run_path(device), json=request_body(site))
    stream = await pipeline.get(run_path(device, "events"))
    status = await pipeline.get(run_path(device))

    for text in (await started.text(), await stream.text(), await status.text()):
        assert NETWORK["passphrase"] not in text


async def test_cancel_during_a_retry_rollback_finishes_the_undo_and_ends_as_a_cancel(
    pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    """Issue 15, case 1: the cancel used to interrupt the undo step, drop it, and start
    a second attempt that found the device still configured."""
    set_faults(device, wrong_passphrase=True)
    await pipeline.post(run_path(device), json=request_body(site))
    rejected = await wait_for(pipeline, device, "PENDING_NETWORK")
    assert rejected["error_code"] == "CREDENTIALS_REJECTED"
    set_faults(device, wrong_passphrase=False, unreachable=True)
    retry = asyncio.create_task(pipeline.post(run_path(device, "retry")))
    await wait_for(pipeline, device, "ROLLING_BACK")

    cancel = await pipeline.post(run_path(device, "cancel"))
    await asyncio.sleep(1.0)
    set_faults(device, unreachable=False)
    events = await follow(pipeline, device)
    await retry

    assert cancel.status == 202
    final = events[-1]
    assert (final["state"], final["error_code"]) == ("ROLLED_BACK", "CANCELLED_BY_USER")
    assert {e["attempt"] for e in events} == {1}, "a second attempt was started"
    assert device.in_setup_mode
    assert device.counters.factory_resets >= 1
    status = await (await pipeline.get(run_path(device))).json()
    assert status["execution_status"] == "CANCELED"
