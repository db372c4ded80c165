"""Taking a device out of service through the API: the HTTP Wi-Fi family end to end, the
API's refusals, and decommissioning racing provisioning.

Through the real dev server, real workers, the simulated HTTP Wi-Fi device and a real
SQLite registry shared by the central worker and the API, as under `make run`. What the
device holds is read from the simulator, never from devprov's report. The other
families are in test_decommission_families.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from temporalio.client import Client, WorkflowFailureError

from api.auth import AuthConfig, KeyStore, Scope, new_key
from domain.progress import ProgressSnapshot
from domain.registry import DeviceClaim, DeviceState, Outcome, RunKind, RunOutcome
from domain.run import PROGRESS_QUERY
from registry import DeviceRegistry
from simulators.http_wifi import RunningSimulator, SimulatedWifiDevice
from tests.integration.conftest import ApiClient, request_body, serve_pipeline
from tests.integration.test_http_wifi_pipeline import follow, run_path, states
from tests.sse import parse_sse

OWNER, OWNER_STORED = new_key("tenant-a", [Scope.ADMIN], key_id="ownera")
STRANGER, STRANGER_STORED = new_key("tenant-b", [Scope.ADMIN], key_id="strangerb")


def decommission_path(device_id: str, action: str = "") -> str:
    base = f"/api/v1/devices/{device_id}/decommission"
    return f"{base}/{action}" if action else base


async def follow_decommission(api: ApiClient, device_id: str) -> list[dict[str, Any]]:
    """The whole SSE stream of the device's decommissioning run."""
    async with asyncio.timeout(60):
        response = await api.get(decommission_path(device_id, "events"))
        assert response.status == 200, await response.text()
        return [event.data for event in parse_sse(await response.text())]


async def record(api: ApiClient, device_id: str, **headers: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/devices/{device_id}", headers=headers or None)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def provisioned(api: ApiClient, device: SimulatedWifiDevice, site: str) -> None:
    started = await api.post(run_path(device), json=request_body(site))
    assert started.status == 202, await started.text()
    assert states(await follow(api, device))[-1] == "SUCCEEDED"
    assert not device.in_setup_mode


async def test_a_decommissioned_device_is_back_in_set_up_mode_and_its_record_says_so(
    registered_pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    await provisioned(registered_pipeline, device, site)

    started = await registered_pipeline.post(decommission_path(device.device_id))
    events = await follow_decommission(registered_pipeline, device.device_id)

    assert started.status == 202, await started.text()
    body = await started.json()
    assert body["workflow_id"] == f"decommission-{device.device_id}"
    assert started.headers["Location"] == decommission_path(device.device_id)
    assert states(events) == [
        "PENDING",
        "DETECTING",
        "PRE_CHECK",
        "ROLLING_BACK",
        "SUCCEEDED",
    ]
    assert device.in_setup_mode
    assert device.counters.factory_resets == 1
    after = await record(registered_pipeline, device.device_id)
    assert after["state"] == "DECOMMISSIONED"
    assert (after["network_ssid"], after["address"]) == (None, None)
    assert after["last_run_kind"] == "decommission"
    status = await (await registered_pipeline.get(decommission_path(device.device_id))).json()
    assert (status["state"], status["execution_status"]) == ("SUCCEEDED", "COMPLETED")
    assert status["links"]["device"] == f"/api/v1/devices/{device.device_id}"


async def test_a_decommissioned_device_can_be_provisioned_again(
    registered_pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    await provisioned(registered_pipeline, device, site)
    await registered_pipeline.post(decommission_path(device.device_id))
    assert states(await follow_decommission(registered_pipeline, device.device_id))[-1] == (
        "SUCCEEDED"
    )

    again = await registered_pipeline.post(decommission_path(device.device_id))
    assert (again.status, (await again.json())["code"]) == (409, "DEVICE_NOT_IN_SERVICE")
    await provisioned(registered_pipeline, device, site)

    assert (await record(registered_pipeline, device.device_id))["state"] == "IN_SERVICE"
    assert device.counters.wifi_config_writes == 2


# --- the API's refusals ----------------------------------------------------------------


async def test_an_unknown_device_is_not_found(registered_pipeline: ApiClient) -> None:
    response = await registered_pipeline.post(decommission_path("shelly-never-seen"))
    status = await registered_pipeline.get(decommission_path("shelly-never-seen"))

    assert (response.status, (await response.json())["code"]) == (404, "NOT_FOUND")
    assert (status.status, (await status.json())["code"]) == (404, "RUN_NOT_FOUND")


async def test_a_device_being_provisioned_is_refused_and_left_alone(
    registered_pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    await registered_pipeline.post(run_path(device), json=request_body(site, network=None))

    response = await registered_pipeline.post(decommission_path(device.device_id))

    assert (response.status, (await response.json())["code"]) == (409, "RUN_IN_PROGRESS")
    await registered_pipeline.post(run_path(device, "cancel"))
    assert states(await follow(registered_pipeline, device))[-1] == "CANCELLED"
    assert device.counters.factory_resets == 0
    never = await registered_pipeline.post(decommission_path(device.device_id))
    assert (never.status, (await never.json())["code"]) == (409, "DEVICE_NOT_IN_SERVICE")


async def test_another_tenants_device_is_not_found_and_left_alone(
    temporal_client: Any,
    simulator: RunningSimulator,
    site: str,
    aiohttp_client: Any,
    device_registry: DeviceRegistry,
    device: SimulatedWifiDevice,
) -> None:
    async with serve_pipeline(
        temporal_client,
        simulator,
        site,
        aiohttp_client,
        devices=device_registry,
        auth=AuthConfig(KeyStore([OWNER_STORED, STRANGER_STORED])),
    ) as api:
        owner = {"Authorization": f"Bearer {OWNER}"}
        stranger = {"Authorization": f"Bearer {STRANGER}"}
        started = await api.post(run_path(device), json=request_body(site), headers=owner)
        assert started.status == 202
        assert states(await follow_with(api, device, owner))[-1] == "SUCCEEDED"

        taken = await api.post(decommission_path(device.device_id), headers=stranger)

        assert (taken.status, (await taken.json())["code"]) == (404, "NOT_FOUND")
        assert device.counters.factory_resets == 0
        assert (await record(api, device.device_id, **owner))["state"] == "IN_SERVICE"


async def follow_with(
    api: ApiClient, device: SimulatedWifiDevice, headers: dict[str, str]
) -> list[dict[str, Any]]:
    async with asyncio.timeout(60):
        response = await api.get(run_path(device, "events"), headers=headers)
        return [event.data for event in parse_sse(await response.text())]


# --- decommissioning racing provisioning ------------------------------------------------


async def left_failed(registry: DeviceRegistry, device_id: str, round_number: int) -> None:
    """The record as a run that left leftovers leaves it (FAILED): the one state from
    which both a provisioning and a decommissioning run may claim the device."""
    current = await registry.get(device_id)
    kind = RunKind.DECOMMISSION if current.state is DeviceState.IN_SERVICE else RunKind.PROVISION
    claim = DeviceClaim(
        device_id=device_id,
        tenant=current.tenant,
        kind=kind,
        workflow_id=f"operator-{round_number}",
        run_id=f"operator-{round_number}",
        strategy=current.strategy,
    )
    await registry.claim(claim)
    await registry.record_outcome(
        RunOutcome(device_id=device_id, run_id=claim.run_id, outcome=Outcome.LEFTOVERS)
    )


async def outcome_of(temporal: Client, workflow_id: str, run_id: str) -> tuple[str, str | None]:
    """How a run ended: its final state and error code (from its own snapshot)."""
    handle = temporal.get_workflow_handle(workflow_id, run_id=run_id)
    with contextlib.suppress(WorkflowFailureError):
        async with asyncio.timeout(60):
            await handle.result()
    snapshot = await handle.query(PROGRESS_QUERY, result_type=ProgressSnapshot)
    return snapshot.state.value, snapshot.error_code.value if snapshot.error_code else None


RACE_ROUNDS = int(os.environ.get("DEVPROV_DECOMMISSION_RACE_ROUNDS", "6"))
"""Rounds of the race: `make test` runs a few (about 1.6 s each), `make chaos` 100."""


async def test_provision_and_decommission_racing_for_one_device_exactly_one_wins_each_time(
    temporal_client: Client,
    registered_pipeline: ApiClient,
    device: SimulatedWifiDevice,
    site: str,
    device_registry: DeviceRegistry,
) -> None:
    api = registered_pipeline
    await provisioned(api, device, site)
    rounds: list[dict[str, tuple[str, str | None]]] = []
    for number in range(RACE_ROUNDS):
        # A person reset the device after a run's leftovers: both runs could do their job.
        device.restore()
        await left_failed(device_registry, device.device_id, number)
        requests = [
            api.post(run_path(device), json=request_body(site)),
            api.post(decommission_path(device.device_id)),
        ]
        if number % 2:
            requests.reverse()
        answers = await asyncio.gather(*requests)
        provision, decommission = answers if number % 2 == 0 else answers[::-1]

        ends: dict[str, tuple[str, str | None]] = {}
        for kind, answer in (("provision", provision), ("decommission", decommission)):
            body = await answer.json()
            if answer.status == 202:
                ends[kind] = await outcome_of(temporal_client, body["workflow_id"], body["run_id"])
            else:
                assert answer.status == 409, body
                assert body["code"] in {"RUN_IN_PROGRESS", "DEVICE_IN_SERVICE"}, body
                ends[kind] = ("REFUSED", body["code"])

        won = [kind for kind, (state, _) in ends.items() if state == "SUCCEEDED"]
        assert len(won) == 1, (number, ends)
        lost = next(kind for kind in ends if kind not in won)
        assert ends[lost] in {("FAILED", "DEVICE_BUSY"), ("REFUSED", "RUN_IN_PROGRESS")}, ends
        final = await device_registry.get(device.device_id)
        counters = device.counters
        if won == ["provision"]:
            assert final.state is DeviceState.IN_SERVICE
            assert (device.sta.ssid, final.network_ssid) == ("devprov-lab", "devprov-lab")
            assert not device.in_setup_mode
            assert (counters.wifi_config_writes, counters.factory_resets) == (1, 0)
        else:
            assert final.state is DeviceState.DECOMMISSIONED
            assert final.network_ssid is None
            assert device.in_setup_mode
            assert (counters.wifi_config_writes, counters.factory_resets) == (0, 1)
        rounds.append(ends)
    print("race rounds:", *rounds, sep="\n  ")
