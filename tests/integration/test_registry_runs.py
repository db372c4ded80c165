"""Runs and the device registry: a run claims its device first and records its outcome
last, and the API refuses up front what a claim would refuse.

Through the real dev server, real workers, the simulated HTTP Wi-Fi device and a real
SQLite registry shared by the central worker and the API, as under `make run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from api.auth import AuthConfig, KeyStore, Scope, new_key
from api.keys import DEPENDENCIES
from config.policies import load_policy_book
from domain.progress import ProvisionResult
from domain.registry import DeviceClaim, DeviceRecord, DeviceState
from domain.requests import ProvisionRequest
from domain.run import PROGRESS_QUERY, ProvisionRun, workflow_id_for
from registry import DeviceRegistry
from simulators.http_wifi import RunningSimulator, SimulatedWifiDevice
from strategies.http_wifi import HTTP_WIFI_SPEC
from tests.integration.conftest import POLICY_ENV, ApiClient, request_body, serve_pipeline
from tests.integration.test_http_wifi_pipeline import follow, run_path, set_faults, states
from workflows import search_attributes as sa

ADMIN_A, ADMIN_A_STORED = new_key("tenant-a", [Scope.ADMIN], key_id="admina")
ADMIN_B, ADMIN_B_STORED = new_key("tenant-b", [Scope.ADMIN], key_id="adminb")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def record(api: ApiClient, device_id: str, key: str | None = None) -> dict[str, Any]:
    response = await api.get(f"/api/v1/devices/{device_id}", headers=bearer(key) if key else None)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_a_provisioned_device_is_in_service_with_the_network_it_joined(
    registered_pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    started = await registered_pipeline.post(run_path(device), json=request_body(site))
    run_id = (await started.json())["run_id"]
    assert states(await follow(registered_pipeline, device))[-1] == "SUCCEEDED"

    device_record = await record(registered_pipeline, device.device_id)

    assert device_record["state"] == "IN_SERVICE"
    assert device_record["network_ssid"] == device.sta.ssid == "devprov-lab"
    assert device_record["address"] == device.sta_ip
    assert (device_record["tenant"], device_record["strategy"]) == ("default", "http-wifi")
    assert device_record["last_run_id"] == run_id
    assert "correct-horse-battery" not in str(device_record)
    listed = await (
        await registered_pipeline.get(
            "/api/v1/devices", params={"network": "devprov-lab", "site": site}
        )
    ).json()
    assert [item["device_id"] for item in listed["items"]] == [device.device_id]


async def test_a_device_in_service_is_refused_up_front_and_left_alone(
    registered_pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    await registered_pipeline.post(run_path(device), json=request_body(site))
    assert states(await follow(registered_pipeline, device))[-1] == "SUCCEEDED"
    rpc_calls = sum(device.counters.rpc_calls.values())

    again = await registered_pipeline.post(run_path(device), json=request_body(site))

    assert again.status == 409
    problem = await again.json()
    assert problem["code"] == "DEVICE_IN_SERVICE"
    assert problem["links"]["device"] == f"/api/v1/devices/{device.device_id}"
    assert sum(device.counters.rpc_calls.values()) == rpc_calls
    assert (await record(registered_pipeline, device.device_id))["state"] == "IN_SERVICE"


async def test_a_rolled_back_run_leaves_the_record_as_it_was_before(
    registered_pipeline: ApiClient, device: SimulatedWifiDevice, site: str
) -> None:
    set_faults(device, never_joins=True)
    await registered_pipeline.post(run_path(device), json=request_body(site))

    events = await follow(registered_pipeline, device)

    assert states(events)[-1] == "ROLLED_BACK"
    assert device.counters.factory_resets == 1
    assert device.in_setup_mode
    device_record = await record(registered_pipeline, device.device_id)
    assert device_record["state"] == "UNPROVISIONED"
    assert (device_record["network_ssid"], device_record["address"]) == (None, None)
    # Undone means claimable again: the retry is a new run that claims it anew.
    set_faults(device, never_joins=False)
    retried = await registered_pipeline.post(run_path(device, "retry"))
    assert retried.status == 202
    assert states(await follow(registered_pipeline, device))[-1] == "SUCCEEDED"
    assert (await record(registered_pipeline, device.device_id))["state"] == "IN_SERVICE"


def _run(device: SimulatedWifiDevice, site: str) -> ProvisionRun:
    book = load_policy_book(environ=POLICY_ENV)
    body = request_body(site)
    body["device"] = {**body["device"], "device_id": device.device_id}  # type: ignore[dict-item]
    return ProvisionRun(
        request=ProvisionRequest.model_validate(body),
        strategy=HTTP_WIFI_SPEC.name,
        policy=book.for_strategy(HTTP_WIFI_SPEC.name),
    )


async def test_two_runs_racing_for_one_device_one_claims_and_the_other_ends_device_busy(
    temporal_client: Client,
    registered_pipeline: ApiClient,
    device: SimulatedWifiDevice,
    site: str,
    device_registry: DeviceRegistry,
) -> None:
    # One workflow id per device keeps two runs of the API apart; two runs under other
    # ids (a decommission, an operator's run) meet only at the registry's claim.
    task_queue = registered_pipeline.app[DEPENDENCIES].task_queue
    run = _run(device, site)
    ids = [workflow_id_for(device.device_id), f"{workflow_id_for(device.device_id)}-twin"]
    handles = await asyncio.gather(
        *(
            temporal_client.start_workflow(
                HTTP_WIFI_SPEC.workflow,
                run,
                id=workflow_id,
                task_queue=task_queue,
                result_type=ProvisionResult,
                search_attributes=sa.initial_search_attributes(run),
            )
            for workflow_id in ids
        )
    )

    outcomes = await asyncio.gather(*(h.result() for h in handles), return_exceptions=True)

    won = [h.id for h, o in zip(handles, outcomes, strict=True) if isinstance(o, ProvisionResult)]
    lost = [o for o in outcomes if isinstance(o, WorkflowFailureError)]
    assert (len(won), len(lost)) == (1, 1), outcomes
    failure = lost[0].cause
    assert isinstance(failure, ApplicationError)
    assert failure.type == "DEVICE_BUSY"
    loser = next(h for h in handles if h.id not in won)
    snapshot = await loser.query(PROGRESS_QUERY)
    assert [e["state"] for e in snapshot["events"]] == ["PENDING", "FAILED"]
    assert device.counters.set_config_calls == 1
    assert device.counters.factory_resets == 0
    final = await device_registry.get(device.device_id)
    assert (final.state, final.workflow_id) == (DeviceState.IN_SERVICE, won[0])


async def test_another_tenants_device_is_not_found_and_cannot_be_started(
    temporal_client: Client,
    simulator: RunningSimulator,
    site: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    device_registry: DeviceRegistry,
    device: SimulatedWifiDevice,
) -> None:
    async with serve_pipeline(
        temporal_client,
        simulator,
        site,
        aiohttp_client,
        devices=device_registry,
        auth=AuthConfig(KeyStore([ADMIN_A_STORED, ADMIN_B_STORED])),
    ) as api:
        path = run_path(device)
        started = await api.post(path, json=request_body(site), headers=bearer(ADMIN_A))
        assert started.status == 202
        handle = temporal_client.get_workflow_handle(workflow_id_for(device.device_id))
        await handle.result()
        writes = device.counters.wifi_config_writes

        taken = await api.post(path, json=request_body(site), headers=bearer(ADMIN_B))
        shown = await api.get(f"/api/v1/devices/{device.device_id}", headers=bearer(ADMIN_B))
        listed = await api.get("/api/v1/devices", headers=bearer(ADMIN_B))
        as_admin = await api.get(
            "/api/v1/devices", params={"tenant": "tenant-a"}, headers=bearer(ADMIN_B)
        )

        assert (taken.status, (await taken.json())["code"]) == (404, "NOT_FOUND")
        assert (shown.status, (await shown.json())["code"]) == (404, "NOT_FOUND")
        assert (await listed.json())["items"] == []
        assert [d["device_id"] for d in (await as_admin.json())["items"]] == [device.device_id]
        assert device.counters.wifi_config_writes == writes
        owned = await record(api, device.device_id, ADMIN_A)
        assert (owned["tenant"], owned["state"]) == ("tenant-a", "IN_SERVICE")


class ClaimAnswerLost(DeviceRegistry):
    """The registry as a worker that crashes right after the claim's commit sees it: the
    first claim is written, then its answer is lost (the activity fails and is retried)."""

    def __init__(self, registry: DeviceRegistry) -> None:
        super().__init__(registry.database)
        self.claims = 0

    async def claim(self, claim: DeviceClaim) -> DeviceRecord:
        claimed = await super().claim(claim)
        self.claims += 1
        if self.claims == 1:
            raise ConnectionResetError("worker crashed after the claim was committed")
        return claimed


async def test_a_claim_retried_after_a_crash_claims_once(
    temporal_client: Client,
    simulator: RunningSimulator,
    site: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    device_registry: DeviceRegistry,
    device: SimulatedWifiDevice,
) -> None:
    crashing = ClaimAnswerLost(device_registry)
    async with serve_pipeline(
        temporal_client,
        simulator,
        site,
        aiohttp_client,
        devices=crashing,
    ) as api:
        await api.post(run_path(device), json=request_body(site))
        assert states(await follow(api, device))[-1] == "SUCCEEDED"

    final = await device_registry.get(device.device_id)
    assert crashing.claims == 2
    assert final.state is DeviceState.IN_SERVICE
    # Created by the first claim (version 1), changed once more by the outcome: the
    # retried claim of the same run changed nothing.
    assert final.version == 2
    assert device.counters.wifi_config_writes == 1


async def test_a_cancelled_run_records_its_outcome_and_gives_the_device_back(
    registered_pipeline: ApiClient,
    device: SimulatedWifiDevice,
    site: str,
    device_registry: DeviceRegistry,
) -> None:
    await registered_pipeline.post(run_path(device), json=request_body(site, network=None))
    async with asyncio.timeout(20):
        while (await registered_pipeline.get(f"/api/v1/devices/{device.device_id}")).status != 200:
            await asyncio.sleep(0.05)
    claimed = await record(registered_pipeline, device.device_id)
    busy = await registered_pipeline.post(run_path(device), json=request_body(site))
    assert (busy.status, (await busy.json())["code"]) == (409, "RUN_IN_PROGRESS")

    await registered_pipeline.post(run_path(device, "cancel"))

    assert states(await follow(registered_pipeline, device))[-1] == "CANCELLED"
    released = await record(registered_pipeline, device.device_id)
    assert (claimed["state"], released["state"]) == ("PROVISIONING", "UNPROVISIONED")
    assert released["last_run_id"] == claimed["last_run_id"]
    assert device.counters.wifi_config_writes == 0
