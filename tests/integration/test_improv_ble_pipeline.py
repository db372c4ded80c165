"""Improv BLE onboarding through Temporal and real edge workers on the virtual BLE link.

Each test runs a central worker and one or two gateways (`edge_node` with the
`improv-ble` capability, each with its own controller on the link), simulated Improv
devices as bumble GATT servers, and their web pages on loopback. Tests assert the
states a person following the run sees and what the devices saw.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from improv_ble_client.protocol import State as ImprovState
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from adapters.ble import VirtualBleRadio, static_address_for
from config.policies import load_policy_book
from config.settings import BleSettings, EdgeSettings, Settings, WorkerSettings
from domain.device import DeviceDescriptor
from domain.progress import ProgressSnapshot, ProvisionResult
from domain.registry import DeviceState
from domain.requests import NetworkCredentials, ProvisionRequest
from domain.run import ProvisionRun, host_task_queue, workflow_id_for
from domain.states import ProvisioningState as S
from registry import DeviceRegistry
from simulators.improv_ble import ImprovDeviceFaults, ImprovDeviceFleet
from strategies.improv_ble import IMPROV_BLE_SPEC
from tests.ble_fixtures import BULB, PLUG
from tests.integration.conftest import ApiClient, serve_api
from tests.sse import parse_sse
from tests.workflows.helpers import progress, states_seen, wait_for_state
from worker.capabilities import SimulatedWorld
from worker.capabilities.improv_ble import share_virtual_ble_radio
from worker.edge import edge_node
from workflows import search_attributes as sa

LAB = {"ssid": "devprov-lab", "passphrase": "correct-horse-battery"}

POLICY_ENV = {
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_POLL_INTERVAL": "200ms",
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "20s",
    "DEVPROV_POLICY__DEFAULTS__STEPS__DETECT__RETRY__MAXIMUM_ATTEMPTS": "1",
    "DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__PROVISION__START_TO_CLOSE": "10s",
    "DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__PROVISION__HEARTBEAT": "2s",
    "DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__CONFIRM__START_TO_CLOSE": "5s",
    **{
        f"DEVPROV_POLICY__DEFAULTS__STEPS__{step}__RETRY__INITIAL_INTERVAL": "100ms"
        for step in ("DETECT", "PRE_CHECK", "PROVISION", "CONFIRM", "ROLLBACK")
    },
}


def improv_run(
    device_id: str, site: str, *, network: dict[str, str] | None = LAB, **policy: str
) -> ProvisionRun:
    device = DeviceDescriptor(
        device_id=device_id,
        type="wifi-light",
        vendor="esphome",
        capabilities=frozenset({"ble", "improv", "wifi"}),
        site=site,
    )
    book = load_policy_book(environ={**POLICY_ENV, **policy})
    return ProvisionRun(
        request=ProvisionRequest(
            device=device,
            network=NetworkCredentials.model_validate(network) if network else None,
        ),
        strategy=IMPROV_BLE_SPEC.name,
        policy=book.for_strategy(IMPROV_BLE_SPEC.name),
    )


async def start(
    client: Client, run: ProvisionRun, central: str
) -> WorkflowHandle[Any, ProvisionResult]:
    return await client.start_workflow(
        IMPROV_BLE_SPEC.workflow,
        run,
        id=workflow_id_for(run.device_id),
        task_queue=central,
        result_type=ProvisionResult,
        search_attributes=sa.initial_search_attributes(run),
    )


async def outcome(handle: WorkflowHandle[Any, ProvisionResult]) -> ProgressSnapshot:
    """The last snapshot of a run, once it ended (successfully or not)."""
    with contextlib.suppress(WorkflowFailureError):
        async with asyncio.timeout(60):
            await handle.result()
    return await progress(handle)


async def press_when_waiting(
    handle: WorkflowHandle[Any, ProvisionResult], fleet: ImprovDeviceFleet, device_id: str
) -> ProgressSnapshot:
    """What a person does: wait for the prompt, then press the device's button."""
    waiting = await wait_for_state(handle, S.WAITING_FOR_DEVICE)
    await fleet.press_button(device_id)
    return waiting


@contextlib.asynccontextmanager
async def gateway(
    client: Client, radio: VirtualBleRadio, site: str, host: str, data_dir: Path
) -> AsyncIterator[None]:
    """One gateway of `site`: its own Temporal connection and BLE controller."""
    own_client = await Client.connect(
        client.service_client.config.target_host,
        namespace=client.namespace,
        data_converter=client.data_converter,
    )
    world = SimulatedWorld()
    share_virtual_ble_radio(world, radio)
    settings = Settings(
        edge=EdgeSettings.defaults(capabilities=("improv-ble",)),
        ble=BleSettings.defaults(backend="virtual", scan_timeout_seconds=0.5),
        worker=WorkerSettings.defaults(data_dir=data_dir),
    )
    async with edge_node(own_client, settings, site=site, host=host, world=world):
        yield


@pytest.fixture
async def gw1(
    temporal_client: Client,
    ble_radio: VirtualBleRadio,
    improv_web: object,
    site: str,
    tmp_path: Path,
) -> AsyncIterator[str]:
    """Gateway `gw1` of the test's site; its BLE address."""
    async with gateway(temporal_client, ble_radio, site, "gw1", tmp_path):
        yield static_address_for("gw1")


# --- the onboarding --------------------------------------------------------------------


async def test_onboarding_asks_for_the_button_and_confirms_at_the_redirect_url(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    handle = await start(temporal_client, improv_run(BULB, site), central)
    waiting = await press_when_waiting(handle, improv_fleet, BULB)

    final = await outcome(handle)

    assert final.state is S.SUCCEEDED
    assert states_seen(final) == [
        S.PENDING,
        S.DETECTING,
        S.PRE_CHECK,
        S.PROVISIONING,
        S.WAITING_FOR_DEVICE,
        S.PROVISIONING,
        S.CONFIRMING,
        S.SUCCEEDED,
    ]
    assert "press the button" in waiting.message
    bulb = improv_fleet[BULB]
    assert str(bulb.redirect_url) in final.message
    assert (bulb.counters.identifies, bulb.counters.provisions_succeeded) == (1, 1)
    assert bulb.wifi.ssid == "devprov-lab"


async def test_a_device_without_a_button_is_never_waited_for(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    handle = await start(temporal_client, improv_run(PLUG, site), central)

    final = await outcome(handle)

    assert final.state is S.SUCCEEDED
    assert S.WAITING_FOR_DEVICE not in states_seen(final)
    assert improv_fleet[PLUG].counters.provisions_succeeded == 1


async def test_authorization_never_given_times_out_and_rolls_back(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    run = improv_run(
        BULB, site, DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__PROVISION__START_TO_CLOSE="2s"
    )
    handle = await start(temporal_client, run, central)

    final = await outcome(handle)

    assert final.state is S.ROLLED_BACK
    assert final.error_code == "IMPROV_AUTHORIZATION_TIMEOUT"
    assert states_seen(final)[-3:] == [S.WAITING_FOR_DEVICE, S.ROLLING_BACK, S.ROLLED_BACK]
    assert improv_fleet[BULB].counters.credentials_received == 0


async def test_wrong_passphrase_asks_for_credentials_again_and_then_succeeds(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    await improv_fleet.set_faults(PLUG, ImprovDeviceFaults(auto_authorize=True))
    wrong = {"ssid": "devprov-lab", "passphrase": "not-the-lab-passphrase"}
    handle = await start(temporal_client, improv_run(PLUG, site, network=wrong), central)

    pending = await wait_for_state(handle, S.PENDING_NETWORK)
    await handle.execute_update("submit_credentials", NetworkCredentials.model_validate(LAB))
    final = await outcome(handle)

    assert pending.error_code == "CREDENTIALS_REJECTED"
    assert final.state is S.SUCCEEDED
    counters = improv_fleet[PLUG].counters
    assert (counters.join_failures, counters.provisions_succeeded) == (1, 1)


async def test_link_dropped_mid_provision_is_retried_and_provisions_once(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    await improv_fleet.set_faults(
        PLUG, ImprovDeviceFaults(auto_authorize=True, drop_link_mid_provision=1)
    )
    handle = await start(temporal_client, improv_run(PLUG, site), central)

    final = await outcome(handle)

    assert final.state is S.SUCCEEDED
    counters = improv_fleet[PLUG].counters
    assert counters.link_drops == 1
    assert (counters.credentials_received, counters.provisions_succeeded) == (1, 1)


async def test_an_absent_device_is_waited_for_then_the_run_fails(
    temporal_client: Client, central: str, gw1: str, site: str
) -> None:
    run = improv_run(
        "improv-absent",
        site,
        DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT="1500ms",
    )
    handle = await start(temporal_client, run, central)

    final = await outcome(handle)

    assert final.state is S.FAILED
    assert final.error_code == "DEVICE_WAIT_TIMEOUT"
    waiting = [e for e in final.events if e.state is S.WAITING_FOR_DEVICE]
    assert waiting
    assert waiting[0].error_code == "DEVICE_UNREACHABLE"


async def test_an_already_provisioned_device_is_reported_not_reprovisioned(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    await improv_fleet.set_faults(PLUG, ImprovDeviceFaults(already_provisioned=True))
    handle = await start(temporal_client, improv_run(PLUG, site), central)

    final = await outcome(handle)

    assert final.state is S.FAILED_VALIDATION
    assert any("already provisioned" in reason for reason in final.reasons)
    assert improv_fleet[PLUG].counters.credentials_received == 0


async def test_a_device_that_joins_but_never_reports_is_named_as_a_leftover(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    # Improv cannot make a device forget credentials, and without a redirect URL there
    # is no web page to reset it through: the undo step cannot be done, and says so.
    await improv_fleet.set_faults(PLUG, ImprovDeviceFaults(auto_authorize=True, never_reports=True))
    run = improv_run(
        PLUG,
        site,
        DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__PROVISION__START_TO_CLOSE="3s",
        DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__PROVISION__RETRY__MAXIMUM_ATTEMPTS="1",
        # The undo step waits for the device's report as long as its attempt may last.
        DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__ROLLBACK__START_TO_CLOSE="4s",
        DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__ROLLBACK__RETRY__MAXIMUM_ATTEMPTS="1",
    )
    handle = await start(temporal_client, run, central)

    final = await outcome(handle)

    assert (final.state, final.error_code) == (S.FAILED, "ROLLBACK_FAILED")
    assert final.leftovers == ["undo provision"]
    assert "could not 'undo provision'" in final.message
    assert improv_fleet[PLUG].wifi.joined is True


async def test_a_joined_device_out_of_reach_on_its_network_is_named_as_a_leftover(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    # Explorer finding: a joined device whose web page was silent was taken as "not on
    # its network" and the run ended ROLLED_BACK while the device kept the network.
    await improv_fleet.set_faults(PLUG, ImprovDeviceFaults(auto_authorize=True, lan_isolated=True))
    run = improv_run(
        PLUG,
        site,
        DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__CONFIRM__START_TO_CLOSE="3s",
        DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__CONFIRM__RETRY__MAXIMUM_ATTEMPTS="1",
        DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__ROLLBACK__RETRY__MAXIMUM_ATTEMPTS="2",
    )
    handle = await start(temporal_client, run, central)

    final = await outcome(handle)

    assert (final.state, final.error_code) == (S.FAILED, "ROLLBACK_FAILED")
    assert final.leftovers == ["undo provision"]
    assert any("reports over BLE that it joined" in e.message for e in final.events)
    assert improv_fleet[PLUG].wifi.joined is True
    assert improv_fleet[PLUG].counters.factory_resets == 0


async def test_cancelling_while_waiting_for_the_button_rolls_back_without_credentials(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    handle = await start(temporal_client, improv_run(BULB, site), central)
    await wait_for_state(handle, S.WAITING_FOR_DEVICE)

    await handle.cancel()
    final = await outcome(handle)

    assert final.state is S.ROLLED_BACK
    assert final.error_code == "CANCELLED_BY_USER"
    assert improv_fleet[BULB].counters.credentials_received == 0


# --- edge pinning ----------------------------------------------------------------------


async def test_every_step_after_detection_runs_on_the_gateway_that_detected_it(
    temporal_client: Client,
    central: str,
    site: str,
    ble_radio: VirtualBleRadio,
    improv_fleet,
    improv_web,
    tmp_path: Path,
) -> None:
    async with (
        gateway(temporal_client, ble_radio, site, "gw1", tmp_path / "gw1"),
        gateway(temporal_client, ble_radio, site, "gw2", tmp_path / "gw2"),
    ):
        handle = await start(temporal_client, improv_run(PLUG, site), central)
        final = await outcome(handle)

    assert final.state is S.SUCCEEDED
    pinned = {e.details["task_queue"] for e in final.events if "task_queue" in e.details}
    assert len(pinned) == 1
    detecting = next(host for host in ("gw1", "gw2") if host_task_queue(site, host) in pinned)
    # Detection only listens; every connection (pre-check, provision, confirm's
    # fallbacks) came from the detecting gateway's radio.
    assert set(improv_fleet[PLUG].counters.connections) == {static_address_for(detecting)}


# --- through the API -------------------------------------------------------------------


@pytest.fixture
async def api(
    temporal_client: Client,
    central: str,
    gw1: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
) -> ApiClient:
    return await serve_api(
        temporal_client,
        aiohttp_client,
        task_queue=central,
        policies=load_policy_book(environ=POLICY_ENV),
    )


async def test_through_the_api_the_events_stream_the_button_prompt_to_success(
    api: ApiClient, site: str, improv_fleet
) -> None:
    path = f"/api/v1/devices/{BULB}/provision"
    body = {
        "device": {
            "type": "wifi-light",
            "vendor": "esphome",
            "capabilities": ["ble", "improv", "wifi"],
            "site": site,
        },
        "network": LAB,
    }
    started = await api.post(path, json=body)
    assert started.status == 202
    assert (await started.json())["strategy"] == "improv-ble"

    async def press_when_prompted() -> None:
        async with asyncio.timeout(30):
            while (await (await api.get(path)).json())["state"] != "WAITING_FOR_DEVICE":
                await asyncio.sleep(0.1)
        await improv_fleet.press_button(BULB)

    press = asyncio.create_task(press_when_prompted())
    async with asyncio.timeout(60):
        stream = await api.get(f"{path}/events")
        events = [event.data for event in parse_sse(await stream.text())]
    await press

    states = [event["state"] for event in events]
    assert states[-1] == "SUCCEEDED"
    prompt = next(event for event in events if event["state"] == "WAITING_FOR_DEVICE")
    assert "press the button" in prompt["message"]
    assert "correct-horse-battery" not in str(events)


async def test_credentials_sent_while_waiting_for_the_button_are_the_ones_the_device_joins(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    """Issue 15, case 3: new credentials were accepted during the button wait, but the
    device joined the old network while the run reported the new one."""
    guest = {"ssid": "devprov-guest", "passphrase": "guest-passphrase-1"}
    improv_fleet.set_network(guest["ssid"], guest["passphrase"])
    handle = await start(temporal_client, improv_run(BULB, site), central)
    await wait_for_state(handle, S.WAITING_FOR_DEVICE)

    await handle.execute_update("submit_credentials", NetworkCredentials.model_validate(guest))
    await improv_fleet.press_button(BULB)
    final = await outcome(handle)

    assert final.state is S.SUCCEEDED
    assert final.network_ssid == "devprov-guest"
    assert improv_fleet[BULB].wifi.ssid == "devprov-guest"


async def test_forget_during_the_button_wait_asks_for_credentials_without_a_new_attempt(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    handle = await start(temporal_client, improv_run(BULB, site), central)
    await wait_for_state(handle, S.WAITING_FOR_DEVICE)

    await handle.execute_update("forget_credentials", result_type=ProgressSnapshot)
    asked = await wait_for_state(handle, S.PENDING_NETWORK)
    await handle.execute_update("submit_credentials", NetworkCredentials.model_validate(LAB))
    await press_when_waiting(handle, improv_fleet, BULB)
    final = await outcome(handle)

    assert (asked.attempt, asked.network_ssid) == (1, None)
    assert (final.state, final.attempt) == (S.SUCCEEDED, 1)
    assert improv_fleet[BULB].counters.credentials_received == 1


async def test_retry_during_the_button_wait_starts_a_new_attempt(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    handle = await start(temporal_client, improv_run(BULB, site), central)
    await wait_for_state(handle, S.WAITING_FOR_DEVICE)

    retried = await handle.execute_update("retry", result_type=ProgressSnapshot)
    await press_when_waiting(handle, improv_fleet, BULB)
    final = await outcome(handle)

    assert retried.attempt == 2
    assert (final.state, final.attempt) == (S.SUCCEEDED, 2)
    assert improv_fleet[BULB].counters.provisions_succeeded == 1


async def test_cancel_during_the_button_wait_sends_the_device_nothing(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    handle = await start(temporal_client, improv_run(BULB, site), central)
    await wait_for_state(handle, S.WAITING_FOR_DEVICE)

    await handle.cancel()
    final = await outcome(handle)

    assert (final.state, final.error_code) == (S.ROLLED_BACK, "CANCELLED_BY_USER")
    assert improv_fleet[BULB].counters.credentials_received == 0
    assert not improv_fleet[BULB].wifi.ssid


async def test_cancel_while_the_credentials_are_on_their_way_resets_the_device_that_took_them(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    """Found by the explorer: the undo step did not know the device's address (the
    credentials step was cancelled before it answered), so the device that took the
    credentials kept its network while the run said ROLLED_BACK."""
    plug = improv_fleet[PLUG]
    plug.spec = plug.spec.model_copy(update={"join_delay": 2.0})
    await improv_fleet.set_faults(PLUG, ImprovDeviceFaults(auto_authorize=True))
    handle = await start(temporal_client, improv_run(PLUG, site), central)
    async with asyncio.timeout(20):
        while plug.counters.credentials_received == 0:
            await asyncio.sleep(0.05)

    await handle.cancel()
    final = await outcome(handle)

    assert (final.state, final.error_code) == (S.ROLLED_BACK, "CANCELLED_BY_USER")
    assert plug.counters.factory_resets == 1
    assert not plug.wifi.ssid


async def test_a_device_that_took_the_credentials_and_has_no_web_page_is_a_named_leftover(
    temporal_client: Client, central: str, gw1: str, site: str, improv_fleet
) -> None:
    """Found while building decommission: a cancelled credentials step whose device had
    joined but gave no redirect URL was "released" as if nothing had happened, and the
    run said ROLLED_BACK while the device kept the network."""
    plug = improv_fleet[PLUG]
    plug.spec = plug.spec.model_copy(update={"join_delay": 2.0})
    await improv_fleet.set_faults(PLUG, ImprovDeviceFaults(auto_authorize=True))
    improv_fleet.set_http_base_url(None)  # no web page: no redirect URL
    handle = await start(temporal_client, improv_run(PLUG, site), central)
    async with asyncio.timeout(20):
        while plug.counters.credentials_received == 0:
            await asyncio.sleep(0.05)

    await handle.cancel()
    final = await outcome(handle)

    assert (final.state, final.error_code) == (S.FAILED, "ROLLBACK_FAILED")
    assert final.leftovers == ["undo provision"]
    assert any("offers no web page" in event.message for event in final.events)
    assert plug.wifi.ssid
    assert plug.counters.factory_resets == 0


# --- taking a device out of service ------------------------------------------------------


IMPROV_ROLLBACK = "DEVPROV_POLICY__STRATEGIES__IMPROV_BLE__STEPS__ROLLBACK"


async def provisioned_then_decommissioned(
    temporal_client: Client,
    central: str,
    site: str,
    improv_fleet: ImprovDeviceFleet,
    registry: DeviceRegistry,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    *,
    faults_once_in_service: ImprovDeviceFaults | None = None,
) -> list[dict[str, Any]]:
    """Provision the plug through the API, optionally fault it, then decommission it;
    the decommissioning run's events."""
    await improv_fleet.set_faults(PLUG, ImprovDeviceFaults(auto_authorize=True))
    api = await serve_api(
        temporal_client,
        aiohttp_client,
        task_queue=central,
        policies=load_policy_book(
            environ={**POLICY_ENV, f"{IMPROV_ROLLBACK}__RETRY__MAXIMUM_ATTEMPTS": "2"}
        ),
        devices=registry,
    )
    base = f"/api/v1/devices/{PLUG}"
    body = {
        "device": {
            "type": "wifi-light",
            "vendor": "esphome",
            "capabilities": ["ble", "improv", "wifi"],
            "site": site,
        },
        "network": LAB,
    }
    assert (await api.post(f"{base}/provision", json=body)).status == 202
    async with asyncio.timeout(60):
        provision_events = parse_sse(await (await api.get(f"{base}/provision/events")).text())
    assert provision_events[-1].data["state"] == "SUCCEEDED"
    if faults_once_in_service is not None:
        await improv_fleet.set_faults(PLUG, faults_once_in_service)
    started = await api.post(f"{base}/decommission")
    assert started.status == 202, await started.text()
    async with asyncio.timeout(60):
        stream = await api.get(f"{base}/decommission/events")
        return [event.data for event in parse_sse(await stream.text())]


async def test_a_decommissioned_device_is_reset_through_its_web_page_and_forgets_its_network(
    temporal_client: Client,
    central: str,
    gw1: str,
    site: str,
    improv_fleet: ImprovDeviceFleet,
    device_registry: DeviceRegistry,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
) -> None:
    events = await provisioned_then_decommissioned(
        temporal_client, central, site, improv_fleet, device_registry, aiohttp_client
    )

    assert events[-1]["state"] == "SUCCEEDED", events[-1]
    plug = improv_fleet[PLUG]
    assert (plug.wifi.ssid, plug.wifi.joined) == (None, False)
    assert plug.state in (ImprovState.AUTHORIZED, ImprovState.AUTHORIZATION_REQUIRED)
    assert plug.counters.factory_resets == 1
    # What Improv itself cannot undo is told, not hidden.
    assert any("cannot undo: Improv Wi-Fi has no command" in e["message"] for e in events)
    record = await device_registry.get(PLUG)
    assert (record.state, record.network_ssid) == (DeviceState.DECOMMISSIONED, None)


async def test_a_device_whose_web_page_is_out_of_reach_keeps_its_network_and_says_so(
    temporal_client: Client,
    central: str,
    gw1: str,
    site: str,
    improv_fleet: ImprovDeviceFleet,
    device_registry: DeviceRegistry,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
) -> None:
    events = await provisioned_then_decommissioned(
        temporal_client,
        central,
        site,
        improv_fleet,
        device_registry,
        aiohttp_client,
        faults_once_in_service=ImprovDeviceFaults(auto_authorize=True, lan_isolated=True),
    )

    last = events[-1]
    assert (last["state"], last["error_code"]) == ("FAILED", "ROLLBACK_FAILED")
    assert "not undone:" in last["message"]
    # The page did not reset it and Improv cannot: the run says what the device keeps
    # (the check over BLE, or the reset step's own failure: which one depends on whether
    # the device still gives its redirect URL over BLE when asked again).
    assert any(
        "not undone: the device keeps its Wi-Fi network" in e["message"]
        or "compensation 'reset through the device's web page' failed" in e["message"]
        for e in events
    )
    plug = improv_fleet[PLUG]
    assert (plug.wifi.ssid, plug.wifi.joined) == ("devprov-lab", True)
    assert plug.counters.factory_resets == 0
    record = await device_registry.get(PLUG)
    assert (record.state, record.network_ssid) == (DeviceState.FAILED, "devprov-lab")
