"""Zigbee joining through Temporal and a real edge worker on the simulated coordinator radio.

Each test runs a central worker and a gateway (`edge_node` with the `zigbee` capability,
zigpy's stack on a simulated stick, its database in `tmp_path`) next to simulated
devices, and asserts the states a person following the run sees and what the devices
and the stick saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError

from config.policies import load_policy_book
from config.settings import EdgeSettings, Settings, WorkerSettings
from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from domain.progress import ProgressSnapshot, ProvisionResult
from domain.registry import DeviceState
from domain.requests import NetworkCredentials, ProvisionRequest
from domain.run import ProvisionRun, host_task_queue, workflow_id_for
from domain.states import ProvisioningState as S
from registry import DeviceRegistry
from simulators.zigbee import (
    SimulatedZigbeeDevice,
    SimulatedZigbeeWorld,
    ZigbeeDeviceFaults,
    ZigbeeDeviceFleet,
    format_install_code,
    smart_plug,
)
from strategies.zigbee import ZIGBEE_SPEC
from tests.integration.conftest import ApiClient, serve_api
from tests.sse import parse_sse
from tests.workflows.helpers import progress, states_seen, wait_for_state
from worker.capabilities import SimulatedWorld
from worker.capabilities.zigbee import share_simulated_zigbee_world
from worker.edge import edge_node
from worker.workers import central_worker
from workflows import search_attributes as sa

POLICY_ENV = {
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_POLL_INTERVAL": "200ms",
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "10s",
    "DEVPROV_POLICY__DEFAULTS__STEPS__DETECT__RETRY__MAXIMUM_ATTEMPTS": "1",
    "DEVPROV_POLICY__STRATEGIES__ZIGBEE__STEPS__PROVISION__START_TO_CLOSE": "8s",
    "DEVPROV_POLICY__STRATEGIES__ZIGBEE__STEPS__PROVISION__HEARTBEAT": "3s",
    **{
        f"DEVPROV_POLICY__STRATEGIES__ZIGBEE__STEPS__{step}__RETRY__INITIAL_INTERVAL": "100ms"
        for step in ("DETECT", "PRE_CHECK", "PROVISION", "CONFIRM", "ROLLBACK")
    },
}
SHORT_JOIN_WINDOW = {"DEVPROV_POLICY__STRATEGIES__ZIGBEE__STEPS__PROVISION__START_TO_CLOSE": "2s"}


@pytest.fixture
def plug() -> SimulatedZigbeeDevice:
    """A plug in pairing mode, with a device id and IEEE address of its own."""
    suffix = uuid.uuid4().hex[:6]
    ieee = "00:12:4b:00:" + ":".join(suffix[i : i + 2] for i in (0, 2, 4)) + ":01"
    return smart_plug(f"zb-plug-{suffix}", ieee, join_delay=0.1)


@pytest.fixture
def zigbee(plug: SimulatedZigbeeDevice) -> SimulatedZigbeeWorld:
    return SimulatedZigbeeWorld(ZigbeeDeviceFleet([plug]))


@pytest.fixture
async def gateway(
    temporal_client: Client, zigbee: SimulatedZigbeeWorld, site: str, tmp_path: Path
) -> AsyncIterator[str]:
    """Gateway `gw1` of the test's site with its coordinator; its own task queue."""
    world = SimulatedWorld()
    share_simulated_zigbee_world(world, zigbee)
    settings = Settings(
        edge=EdgeSettings.defaults(capabilities=("zigbee",)),
        worker=WorkerSettings.defaults(data_dir=tmp_path),
    )
    async with edge_node(temporal_client, settings, site=site, host="gw1", world=world):
        yield host_task_queue(site, "gw1")


def zigbee_request(
    plug: SimulatedZigbeeDevice,
    site: str,
    *,
    install_code: str | None = None,
    model: str | None = None,
) -> ProvisionRequest:
    return ProvisionRequest(
        device=DeviceDescriptor(
            device_id=plug.device_id,
            type="smart-plug",
            vendor="sonoff",
            model=plug.model if model is None else model,
            capabilities=frozenset({"zigbee"}),
            site=site,
            transport_hints={"ieee": plug.ieee},
        ),
        secrets={
            "install_code": SecretStr(
                format_install_code(plug.install_code) if install_code is None else install_code
            )
        },
    )


async def start(
    client: Client, request: ProvisionRequest, central: str, **policy: str
) -> WorkflowHandle[Any, ProvisionResult]:
    book = load_policy_book(environ={**POLICY_ENV, **policy})
    run = ProvisionRun(
        request=request, strategy=ZIGBEE_SPEC.name, policy=book.for_strategy(ZIGBEE_SPEC.name)
    )
    return await client.start_workflow(
        ZIGBEE_SPEC.workflow,
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


def messages(snapshot: ProgressSnapshot) -> str:
    return "\n".join(event.message for event in snapshot.events)


def assert_no_install_code(text: str, plug: SimulatedZigbeeDevice) -> None:
    compact = text.replace(" ", "").lower()
    assert plug.install_code.hex() not in compact


# --- the join ---------------------------------------------------------------------------


async def test_device_joins_is_interviewed_checked_and_configured(
    temporal_client: Client,
    central: str,
    gateway: str,
    site: str,
    plug: SimulatedZigbeeDevice,
    zigbee: SimulatedZigbeeWorld,
    device_registry: DeviceRegistry,
) -> None:
    handle = await start(temporal_client, zigbee_request(plug, site), central)

    final = await outcome(handle)

    assert final.state is S.SUCCEEDED, final.message
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
    waiting = next(e for e in final.events if e.state is S.WAITING_FOR_DEVICE)
    assert "pairing mode" in waiting.message
    stick = zigbee.stick_for("gw1")
    assert any(e.details.get("task_queue") == gateway for e in final.events)
    assert f"channel {stick.network_info.channel}" in messages(final)  # type: ignore[union-attr]
    assert "SONOFF S26R2ZB" in final.message
    assert "on_off" in final.message
    counters = plug.counters
    assert (counters.joins, counters.interviews, counters.binds) == (1, 1, 1)
    assert counters.reporting_configs == 1
    assert plug.network is not None
    assert plug.network.coordinator_ieee == stick.ieee
    assert not stick.permit_open(asyncio.get_running_loop().time())
    assert_no_install_code(final.model_dump_json(), plug)
    record = await device_registry.get(plug.device_id)
    assert record.state is DeviceState.IN_SERVICE
    assert (record.zigbee_ieee, record.zigbee_nwk) == (plug.ieee, f"0x{plug.network.nwk:04X}")
    assert record.network_ssid is None


async def test_invalid_install_code_fails_validation_before_the_network_opens(
    temporal_client: Client,
    central: str,
    gateway: str,
    site: str,
    plug: SimulatedZigbeeDevice,
    zigbee: SimulatedZigbeeWorld,
) -> None:
    typed = format_install_code(plug.install_code)
    mistyped = typed[:-1] + ("1" if typed[-1] != "1" else "2")
    handle = await start(
        temporal_client, zigbee_request(plug, site, install_code=mistyped), central
    )

    final = await outcome(handle)

    assert final.state is S.FAILED_VALIDATION
    assert final.error_code == "PRE_CHECK_FAILED"
    assert any("install code" in reason and "CRC" in reason for reason in final.reasons)
    assert zigbee.stick_for("gw1").counters.permits_opened == 0
    assert plug.counters.join_attempts == 0
    assert mistyped.replace(" ", "").lower() not in final.model_dump_json().replace(" ", "").lower()


async def test_device_that_never_joins_times_out_and_the_network_is_closed_again(
    temporal_client: Client,
    central: str,
    gateway: str,
    site: str,
    plug: SimulatedZigbeeDevice,
    zigbee: SimulatedZigbeeWorld,
) -> None:
    plug.faults = ZigbeeDeviceFaults(never_joins=True)
    handle = await start(temporal_client, zigbee_request(plug, site), central, **SHORT_JOIN_WINDOW)

    final = await outcome(handle)

    assert final.error_code == "ZIGBEE_JOIN_TIMEOUT"
    assert final.state is S.ROLLED_BACK
    assert S.WAITING_FOR_DEVICE in states_seen(final)
    assert "closed again" in final.message
    stick = zigbee.stick_for("gw1")
    assert stick.counters.permits_opened >= 1
    assert not stick.permit_open(asyncio.get_running_loop().time())
    assert stick.install_keys == {}
    assert plug.counters.joins == 0


async def test_device_with_another_install_code_is_not_let_in(
    temporal_client: Client,
    central: str,
    gateway: str,
    site: str,
    plug: SimulatedZigbeeDevice,
) -> None:
    plug.faults = ZigbeeDeviceFaults(wrong_install_code=True)
    handle = await start(temporal_client, zigbee_request(plug, site), central, **SHORT_JOIN_WINDOW)

    final = await outcome(handle)

    assert final.error_code == "ZIGBEE_JOIN_TIMEOUT"
    assert plug.counters.rejected_joins >= 1
    assert plug.network is None


# --- the interview ----------------------------------------------------------------------


async def test_interview_that_fails_twice_succeeds_with_one_join(
    temporal_client: Client, central: str, gateway: str, site: str, plug: SimulatedZigbeeDevice
) -> None:
    plug.faults = ZigbeeDeviceFaults(interview_failures=2)
    handle = await start(temporal_client, zigbee_request(plug, site), central)

    final = await outcome(handle)

    assert final.state is S.SUCCEEDED, final.message
    assert (plug.counters.joins, plug.counters.interviews) == (1, 3)
    text = messages(final)
    assert "interview 1 of 3 failed" in text
    assert "interview 2 of 3 failed" in text
    assert "without re-joining" in text


async def test_interview_that_keeps_failing_removes_the_device(
    temporal_client: Client, central: str, gateway: str, site: str, plug: SimulatedZigbeeDevice
) -> None:
    plug.faults = ZigbeeDeviceFaults(interview_failures=10)
    handle = await start(temporal_client, zigbee_request(plug, site), central)

    final = await outcome(handle)

    assert final.error_code == "ZIGBEE_INTERVIEW_FAILED"
    assert final.state is S.ROLLED_BACK
    assert (plug.counters.joins, plug.counters.interviews) == (1, 3)
    assert plug.counters.removals == 1
    assert plug.network is None


# --- confirmation -----------------------------------------------------------------------


async def test_wrong_model_is_rolled_back_and_the_device_removed(
    temporal_client: Client, central: str, gateway: str, site: str, plug: SimulatedZigbeeDevice
) -> None:
    request = zigbee_request(plug, site, model="TRADFRI bulb E27 WS opal 1000lm")
    handle = await start(temporal_client, request, central)

    final = await outcome(handle)

    assert final.error_code == "DEVICE_MISMATCH"
    assert final.state is S.ROLLED_BACK
    assert states_seen(final)[-3:] == [S.CONFIRMING, S.ROLLING_BACK, S.ROLLED_BACK]
    assert "model is 'S26R2ZB'" in final.message
    assert plug.counters.removals == 1
    assert plug.network is None
    assert plug.bindings == set()


async def test_device_already_on_the_network_fails_validation(
    temporal_client: Client, central: str, gateway: str, site: str, plug: SimulatedZigbeeDevice
) -> None:
    # Joined by a system whose records are not in this registry: a central worker that
    # keeps its own.
    elsewhere = f"elsewhere-{uuid.uuid4().hex[:8]}"
    async with central_worker(temporal_client, task_queue=elsewhere):
        first = await outcome(await start(temporal_client, zigbee_request(plug, site), elsewhere))
    assert first.state is S.SUCCEEDED

    again = await outcome(await start(temporal_client, zigbee_request(plug, site), central))

    assert again.state is S.FAILED_VALIDATION
    assert any("already on this coordinator's network" in r for r in again.reasons)
    assert plug.counters.joins == 1
    assert plug.network is not None


async def test_a_device_the_registry_holds_in_service_is_not_claimed_again(
    temporal_client: Client,
    central: str,
    gateway: str,
    site: str,
    plug: SimulatedZigbeeDevice,
    device_registry: DeviceRegistry,
) -> None:
    first_run = await start(temporal_client, zigbee_request(plug, site), central)
    assert (await outcome(first_run)).state is S.SUCCEEDED

    again = await outcome(await start(temporal_client, zigbee_request(plug, site), central))

    assert (again.state, again.error_code) == (S.FAILED, ErrorCode.DEVICE_BUSY)
    assert [e.state for e in again.events] == [S.PENDING, S.FAILED]
    assert (plug.counters.joins, plug.counters.interviews) == (1, 1)
    record = await device_registry.get(plug.device_id)
    assert (record.state, record.run_id) == (DeviceState.IN_SERVICE, first_run.result_run_id)


# --- through the API --------------------------------------------------------------------


@pytest.fixture
async def api(
    temporal_client: Client,
    central: str,
    gateway: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
) -> ApiClient:
    return await serve_api(
        temporal_client,
        aiohttp_client,
        task_queue=central,
        policies=load_policy_book(environ=POLICY_ENV),
    )


def api_body(plug: SimulatedZigbeeDevice, site: str, **hints: str) -> dict[str, object]:
    return {
        "device": {
            "type": "smart-plug",
            "vendor": "sonoff",
            "model": plug.model,
            "capabilities": ["zigbee"],
            "site": site,
            "transport_hints": hints or {"ieee": plug.ieee},
        },
        "secrets": {"install_code": format_install_code(plug.install_code)},
    }


async def test_provisioning_through_the_api_streams_its_progress_over_sse(
    api: ApiClient, site: str, plug: SimulatedZigbeeDevice
) -> None:
    base = f"/api/v1/devices/{plug.device_id}/provision"

    started = await api.post(base, json=api_body(plug, site))
    assert started.status == 202
    assert (await started.json())["strategy"] == "zigbee"
    async with asyncio.timeout(60):
        stream = await api.get(f"{base}/events")
        body = await stream.text()
    status = await (await api.get(base)).text()

    events = [event.data for event in parse_sse(body)]
    assert events[-1]["state"] == "SUCCEEDED"
    seen = [e["state"] for e in events]
    assert {"DETECTING", "PRE_CHECK", "WAITING_FOR_DEVICE", "PROVISIONING", "CONFIRMING"} <= set(
        seen
    )
    assert [int(e.id) for e in parse_sse(body) if e.id] == sorted(
        int(e.id) for e in parse_sse(body) if e.id
    )
    assert plug.counters.joins == 1
    for text in (body, status, await started.text()):
        assert_no_install_code(text, plug)
    assert json.loads(status)["state"] == "SUCCEEDED"


async def test_a_request_without_the_ieee_address_is_refused(
    api: ApiClient, site: str, plug: SimulatedZigbeeDevice
) -> None:
    response = await api.post(
        f"/api/v1/devices/{plug.device_id}/provision",
        json=api_body(plug, site, label="somewhere"),
    )

    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == "UNSUPPORTED_DEVICE"
    assert "ieee" in json.dumps(problem["reasons"])
    assert_no_install_code(await response.text(), plug)


# --- operator actions while the network waits for the device (docs/api.md, the table) --


async def join_wait(
    client: Client, plug: SimulatedZigbeeDevice, site: str, central: str
) -> WorkflowHandle[Any, ProvisionResult]:
    """A run whose network is open for a device not yet powered on in pairing mode."""
    plug.pairing = False
    handle = await start(client, zigbee_request(plug, site), central)
    await wait_for_state(handle, S.WAITING_FOR_DEVICE)
    return handle


@pytest.mark.parametrize(
    ("update", "args"),
    [
        ("submit_credentials", [NetworkCredentials(ssid="lab", passphrase="lab-passphrase")]),
        ("forget_credentials", []),
    ],
)
async def test_credentials_are_refused_by_a_family_that_takes_none(
    temporal_client: Client,
    central: str,
    gateway: str,
    site: str,
    plug: SimulatedZigbeeDevice,
    zigbee: SimulatedZigbeeWorld,
    update: str,
    args: list[object],
) -> None:
    handle = await join_wait(temporal_client, plug, site, central)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, args=args)
    zigbee.fleet.start_pairing(plug.device_id)
    final = await outcome(handle)

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "RUN_NOT_WAITING"
    assert final.state is S.SUCCEEDED


async def test_retry_during_the_join_wait_starts_a_new_attempt_the_device_then_joins(
    temporal_client: Client,
    central: str,
    gateway: str,
    site: str,
    plug: SimulatedZigbeeDevice,
    zigbee: SimulatedZigbeeWorld,
) -> None:
    handle = await join_wait(temporal_client, plug, site, central)

    retried = await handle.execute_update("retry", result_type=ProgressSnapshot)
    await wait_for_state(handle, S.WAITING_FOR_DEVICE)
    zigbee.fleet.start_pairing(plug.device_id)
    final = await outcome(handle)

    assert retried.attempt == 2
    assert (final.state, final.attempt) == (S.SUCCEEDED, 2)
    assert plug.counters.joins == 1


async def test_cancel_during_the_join_wait_closes_the_network_and_lets_nothing_in(
    temporal_client: Client,
    central: str,
    gateway: str,
    site: str,
    plug: SimulatedZigbeeDevice,
    zigbee: SimulatedZigbeeWorld,
) -> None:
    handle = await join_wait(temporal_client, plug, site, central)

    await handle.cancel()
    final = await outcome(handle)
    zigbee.fleet.start_pairing(plug.device_id)
    await asyncio.sleep(0.3)

    assert (final.state, final.error_code) == (S.ROLLED_BACK, "CANCELLED_BY_USER")
    stick = zigbee.stick_for("gw1")
    assert not stick.permit_open(asyncio.get_running_loop().time())
    assert stick.install_keys == {}
    assert plug.counters.joins == 0


async def test_a_decommissioned_device_is_told_to_leave_and_removed_from_the_coordinator(
    temporal_client: Client,
    central: str,
    gateway: str,
    site: str,
    plug: SimulatedZigbeeDevice,
    zigbee: SimulatedZigbeeWorld,
    device_registry: DeviceRegistry,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
) -> None:
    api = await serve_api(
        temporal_client,
        aiohttp_client,
        task_queue=central,
        policies=load_policy_book(environ=POLICY_ENV),
        devices=device_registry,
    )
    provision = f"/api/v1/devices/{plug.device_id}/provision"
    assert (await api.post(provision, json=api_body(plug, site))).status == 202
    async with asyncio.timeout(60):
        await (await api.get(f"{provision}/events")).text()
    assert plug.network is not None

    path = f"/api/v1/devices/{plug.device_id}/decommission"
    started = await api.post(path)
    async with asyncio.timeout(60):
        events = [e.data for e in parse_sse(await (await api.get(f"{path}/events")).text())]

    assert started.status == 202, await started.text()
    assert events[-1]["state"] == "SUCCEEDED", events[-1]
    assert any(e["details"].get("task_queue") == gateway for e in events)
    assert plug.network is None
    assert (plug.counters.removals, plug.counters.leaves) == (1, 0)
    assert plug.bindings == set()
    assert zigbee.stick_for("gw1").key_for(plug.ieee, asyncio.get_running_loop().time()) is None
    record = await device_registry.get(plug.device_id)
    assert (record.state, record.zigbee_ieee, record.zigbee_nwk) == (
        DeviceState.DECOMMISSIONED,
        None,
        None,
    )
