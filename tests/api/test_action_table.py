"""The state-by-action table of docs/api.md, cell by cell, for the HTTP Wi-Fi family.

Each test holds a run in one state (the fake device's steps wait while `held`), sends
one operator action through the API, and checks the answer, what the run does next and
what the device saw. The cells where Improv and Zigbee differ (a device step that waits
on a person) are tested against their simulators in tests/integration/
test_improv_ble_pipeline.py and test_zigbee_pipeline.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientResponse
from temporalio.client import Client

from api.app import ApiDependencies, create_app
from api.keys import RUNS
from domain.errors import ErrorCode
from registry import DeviceRegistry
from strategies.http_wifi import HttpWifiActivity as Step
from tests.api.conftest import (
    PASSPHRASE,
    ApiClient,
    provision_body,
    run_path,
    wait_for_state,
)
from tests.fakes import FakeWifiDevice
from worker.workers import central_worker, edge_worker

OTHER = {"ssid": "other-net", "passphrase": PASSPHRASE}
WRONG = {"ssid": "home-net", "passphrase": "not-the-passphrase"}
CREDENTIALS_NEW = {"ssid": "new-net", "passphrase": PASSPHRASE}


async def start(api: ApiClient, device_id: str, site: str, network: dict[str, str] | None) -> None:
    body = provision_body(site, network=False)
    if network is not None:
        body["network"] = network
    response = await api.post(run_path(device_id), json=body)
    assert response.status == 202, await response.text()


async def hold(
    api: ApiClient, fake: FakeWifiDevice, device_id: str, site: str, state: str
) -> asyncio.Task[ClientResponse] | None:
    """Start a run and hold it in `state`; a retry still waiting to answer is returned."""
    if state == "DETECTING":
        fake.held.add(Step.DETECT.name)
        await start(api, device_id, site, None)
    elif state == "PRE_CHECK":
        fake.held.add(Step.READ_STATE.name)
        await start(api, device_id, site, None)
    elif state == "PENDING_NETWORK":
        await start(api, device_id, site, None)
    elif state == "WAITING_FOR_DEVICE":
        fake.absent_detections = 10_000
        await start(api, device_id, site, None)
    elif state == "PROVISIONING":
        fake.held.add(Step.APPLY_NETWORK.name)
        await start(api, device_id, site, OTHER)
    elif state == "CONFIRMING":
        fake.held.add(Step.CONFIRM_JOINED.name)
        await start(api, device_id, site, OTHER)
    elif state == "ROLLING_BACK":
        # Rolling back for a retry: the credentials were rejected, the undo step waits.
        fake.held.add(Step.RESET.name)
        await start(api, device_id, site, WRONG)
        await wait_for_state(api, device_id, "PENDING_NETWORK")
        retry = asyncio.create_task(api.post(run_path(device_id, "retry")))
        await wait_for_state(api, device_id, state)
        return retry
    elif state == "SUCCEEDED":
        await start(api, device_id, site, OTHER)
    elif state == "CANCELLED":
        await start(api, device_id, site, None)
        await wait_for_state(api, device_id, "PENDING_NETWORK")
        await api.post(run_path(device_id, "cancel"))
    await wait_for_state(api, device_id, state)
    return None


async def final(api: ApiClient, device_id: str) -> dict[str, Any]:
    """The run's status once Temporal reports it closed."""
    async with asyncio.timeout(20):
        while True:
            body: dict[str, Any] = await (await api.get(run_path(device_id))).json()
            if body.get("execution_status") not in (None, "RUNNING"):
                return body
            await asyncio.sleep(0.1)


async def expect_problem(response: ClientResponse, status: int, code: ErrorCode) -> None:
    assert response.status == status, await response.text()
    assert (await response.json())["code"] == code.value


def noted(body: dict[str, Any], text: str) -> bool:
    return any(text in event["message"] for event in body["events"])


# --- credentials ----------------------------------------------------------------------


@pytest.mark.parametrize("state", ["DETECTING", "PRE_CHECK", "WAITING_FOR_DEVICE"])
async def test_credentials_before_the_network_step_are_held_and_used(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    await hold(api, workers, device_id, site, state)

    response = await api.post(run_path(device_id, "credentials"), json=OTHER)
    workers.held.clear()
    workers.absent_detections = 0
    body = await final(api, device_id)

    assert response.status == 200
    assert (await response.json())["network_ssid"] == "other-net"
    assert body["state"] == "SUCCEEDED"
    assert "PENDING_NETWORK" not in [e["state"] for e in body["events"]]
    assert workers.applied == ["other-net"]
    assert noted(body, "credentials for network 'other-net' received")


async def test_credentials_while_pending_network_move_the_run_on(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await hold(api, workers, device_id, site, "PENDING_NETWORK")

    response = await api.post(run_path(device_id, "credentials"), json=OTHER)
    body = await final(api, device_id)

    assert response.status == 200
    assert (await response.json())["state"] != "PENDING_NETWORK"
    assert body["state"] == "SUCCEEDED"
    assert workers.applied == ["other-net"]


@pytest.mark.parametrize("state", ["PROVISIONING", "CONFIRMING", "ROLLING_BACK"])
async def test_credentials_once_the_network_step_began_are_refused(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    retry = await hold(api, workers, device_id, site, state)

    response = await api.post(run_path(device_id, "credentials"), json=CREDENTIALS_NEW)
    workers.held.clear()
    if retry is not None:
        await retry

    await expect_problem(response, 409, ErrorCode.RUN_NOT_WAITING)
    assert "new-net" not in workers.applied


@pytest.mark.parametrize("state", ["SUCCEEDED", "CANCELLED"])
async def test_credentials_after_the_end_are_refused(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    await hold(api, workers, device_id, site, state)
    await final(api, device_id)

    response = await api.post(run_path(device_id, "credentials"), json=CREDENTIALS_NEW)

    await expect_problem(response, 409, ErrorCode.RUN_ALREADY_FINISHED)


# --- forget-credentials ---------------------------------------------------------------


@pytest.mark.parametrize("state", ["DETECTING", "PRE_CHECK", "WAITING_FOR_DEVICE"])
async def test_forget_before_the_network_step_makes_the_run_ask_again(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    await hold(api, workers, device_id, site, state)
    await api.post(run_path(device_id, "credentials"), json=OTHER)

    response = await api.post(run_path(device_id, "forget-credentials"))
    workers.held.clear()
    workers.absent_detections = 0
    waiting = await wait_for_state(api, device_id, "PENDING_NETWORK")

    assert response.status == 200
    assert (await response.json())["network_ssid"] is None
    assert waiting["attempt"] == 1
    assert workers.applied == []
    assert noted(waiting, "network credentials forgotten")


async def test_forget_while_pending_network_keeps_waiting(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await hold(api, workers, device_id, site, "PENDING_NETWORK")

    response = await api.post(run_path(device_id, "forget-credentials"))

    assert response.status == 200
    body = await response.json()
    assert (body["state"], body["network_ssid"]) == ("PENDING_NETWORK", None)
    assert noted(body, "no network credentials were held")


@pytest.mark.parametrize("state", ["PROVISIONING", "CONFIRMING", "ROLLING_BACK"])
async def test_forget_once_the_network_step_began_is_refused(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    retry = await hold(api, workers, device_id, site, state)

    response = await api.post(run_path(device_id, "forget-credentials"))
    workers.held.clear()
    if retry is not None:
        await retry

    await expect_problem(response, 409, ErrorCode.RUN_NOT_WAITING)


@pytest.mark.parametrize("state", ["SUCCEEDED", "CANCELLED"])
async def test_forget_after_the_end_is_refused(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    await hold(api, workers, device_id, site, state)
    await final(api, device_id)

    response = await api.post(run_path(device_id, "forget-credentials"))

    await expect_problem(response, 409, ErrorCode.RUN_ALREADY_FINISHED)


# --- retry ----------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["PENDING_NETWORK", "WAITING_FOR_DEVICE"])
async def test_retry_while_waiting_starts_a_new_attempt(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    await hold(api, workers, device_id, site, state)

    response = await api.post(run_path(device_id, "retry"))

    assert response.status == 200
    assert (await response.json())["attempt"] == 2
    body = await (await api.get(run_path(device_id))).json()
    assert noted(body, "retry requested")


@pytest.mark.parametrize(
    "state", ["DETECTING", "PRE_CHECK", "PROVISIONING", "CONFIRMING", "ROLLING_BACK"]
)
async def test_retry_while_the_run_moves_on_its_own_is_refused(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    retry = await hold(api, workers, device_id, site, state)

    response = await api.post(run_path(device_id, "retry"))
    workers.held.clear()
    if retry is not None:
        await retry

    await expect_problem(response, 409, ErrorCode.RUN_NOT_WAITING)


async def test_retry_after_success_is_refused(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await hold(api, workers, device_id, site, "SUCCEEDED")
    await final(api, device_id)

    response = await api.post(run_path(device_id, "retry"))

    await expect_problem(response, 409, ErrorCode.RUN_ALREADY_FINISHED)
    assert workers.applied == ["other-net"]


async def test_retry_after_another_end_starts_a_new_run(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await hold(api, workers, device_id, site, "CANCELLED")
    first = await final(api, device_id)

    response = await api.post(run_path(device_id, "retry"))
    waiting = await wait_for_state(api, device_id, "PENDING_NETWORK")

    assert response.status == 202
    assert (await response.json())["run_id"] != first["run_id"]
    assert waiting["run_id"] != first["run_id"]


# --- cancel ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state", ["DETECTING", "PRE_CHECK", "PENDING_NETWORK", "WAITING_FOR_DEVICE"]
)
async def test_cancel_before_the_device_was_changed_ends_cancelled(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    await hold(api, workers, device_id, site, state)

    response = await api.post(run_path(device_id, "cancel"))
    workers.held.clear()
    body = await final(api, device_id)

    assert response.status == 202
    assert (body["state"], body["error_code"], body["execution_status"]) == (
        "CANCELLED",
        "CANCELLED_BY_USER",
        "CANCELED",
    )
    assert (workers.applied, workers.resets) == ([], 0)
    assert noted(body, "cancel requested")


@pytest.mark.parametrize("state", ["PROVISIONING", "CONFIRMING"])
async def test_cancel_after_the_device_may_have_changed_rolls_it_back(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    await hold(api, workers, device_id, site, state)

    response = await api.post(run_path(device_id, "cancel"))
    workers.held.clear()
    body = await final(api, device_id)

    assert response.status == 202
    assert (body["state"], body["error_code"]) == ("ROLLED_BACK", "CANCELLED_BY_USER")
    assert workers.resets == 1
    assert workers.configured_ssid is None


async def test_cancel_while_rolling_back_for_a_retry_finishes_the_rollback_and_ends(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    retry = await hold(api, workers, device_id, site, "ROLLING_BACK")

    response = await api.post(run_path(device_id, "cancel"))
    await asyncio.sleep(0.5)
    workers.held.clear()
    body = await final(api, device_id)
    assert retry is not None
    await retry

    assert response.status == 202
    assert (body["state"], body["error_code"], body["attempt"]) == (
        "ROLLED_BACK",
        "CANCELLED_BY_USER",
        1,
    )
    assert body["execution_status"] == "CANCELED"
    assert workers.resets == 1
    assert noted(body, "cancel requested while rolling back")


async def test_cancel_while_rolling_back_after_a_failure_keeps_the_failure(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.confirm_error = ErrorCode.NETWORK_JOIN_TIMEOUT
    workers.held.add(Step.RESET.name)
    await start(api, device_id, site, OTHER)
    await wait_for_state(api, device_id, "ROLLING_BACK")

    response = await api.post(run_path(device_id, "cancel"))
    await asyncio.sleep(0.5)
    workers.held.clear()
    body = await final(api, device_id)

    assert response.status == 202
    assert (body["state"], body["error_code"]) == ("ROLLED_BACK", "NETWORK_JOIN_TIMEOUT")
    assert workers.resets == 1
    assert noted(body, "cancel requested while rolling back")


@pytest.mark.parametrize("state", ["SUCCEEDED", "CANCELLED"])
async def test_cancel_after_the_end_is_refused(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str, state: str
) -> None:
    await hold(api, workers, device_id, site, state)
    await final(api, device_id)

    response = await api.post(run_path(device_id, "cancel"))

    await expect_problem(response, 409, ErrorCode.RUN_ALREADY_FINISHED)


async def test_cancel_that_reaches_a_run_just_after_it_ended_is_refused(
    api: ApiClient,
    workers: FakeWifiDevice,
    device_id: str,
    site: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by the explorer: the server takes a cancel for a run that closed a moment
    earlier and records nothing; the API answered 202 for a cancel that did nothing."""
    runs = api.app[RUNS]
    workers.held.add(Step.CONFIRM_JOINED.name)
    await start(api, device_id, site, OTHER)
    await wait_for_state(api, device_id, "CONFIRMING")
    seen_running = await runs._describe(device_id)
    workers.held.clear()
    await final(api, device_id)

    async def stale_describe(_: str) -> Any:
        return seen_running

    monkeypatch.setattr(runs, "_describe", stale_describe)
    response = await api.post(run_path(device_id, "cancel"))

    await expect_problem(response, 409, ErrorCode.RUN_ALREADY_FINISHED)


# --- decommission ---------------------------------------------------------------------
# The decommission column: what `POST .../decommission` answers while the device's
# provisioning run is in each state, and what cancel does to a decommissioning run. These
# need the registry the runs write and the API reads, shared as under `make run`.


@pytest.fixture
async def registered(
    aiohttp_client: Any,
    api_deps: ApiDependencies,
    device_registry: DeviceRegistry,
    temporal_client: Client,
    task_queue: str,
    site: str,
    fake_device: FakeWifiDevice,
) -> AsyncIterator[tuple[ApiClient, FakeWifiDevice]]:
    """The API and a central worker sharing one registry; the fake device's edge."""
    deps = dataclasses.replace(api_deps, devices=device_registry)
    async with (
        central_worker(temporal_client, task_queue=task_queue, registry=device_registry),
        edge_worker(temporal_client, site=site, activities=fake_device.activities()),
    ):
        yield await aiohttp_client(create_app(deps)), fake_device


def decommission_path(device_id: str, action: str = "") -> str:
    base = f"/api/v1/devices/{device_id}/decommission"
    return f"{base}/{action}" if action else base


async def decommission_final(api: ApiClient, device_id: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            body: dict[str, Any] = await (await api.get(decommission_path(device_id))).json()
            if body.get("execution_status") not in (None, "RUNNING"):
                return body
            await asyncio.sleep(0.1)


async def wait_for_decommission(api: ApiClient, device_id: str, state: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            response = await api.get(decommission_path(device_id))
            if response.status == 200:
                body: dict[str, Any] = await response.json()
                if body["state"] == state:
                    return body
            await asyncio.sleep(0.1)


async def device_state(api: ApiClient, device_id: str) -> str:
    return str((await (await api.get(f"/api/v1/devices/{device_id}")).json())["state"])


@pytest.mark.parametrize(
    "state",
    ["DETECTING", "PENDING_NETWORK", "WAITING_FOR_DEVICE", "PROVISIONING", "ROLLING_BACK"],
)
async def test_decommission_while_the_device_is_being_provisioned_is_refused(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str, state: str
) -> None:
    api, fake = registered
    retry = await hold(api, fake, device_id, site, state)

    response = await api.post(decommission_path(device_id))
    fake.held.clear()
    fake.absent_detections = 0
    if retry is not None:
        await retry

    await expect_problem(response, 409, ErrorCode.RUN_IN_PROGRESS)
    not_started = await api.get(decommission_path(device_id))
    await expect_problem(not_started, 404, ErrorCode.RUN_NOT_FOUND)


async def test_decommission_after_success_takes_the_device_out_of_service(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str
) -> None:
    api, fake = registered
    await hold(api, fake, device_id, site, "SUCCEEDED")
    await final(api, device_id)

    response = await api.post(decommission_path(device_id))
    body = await decommission_final(api, device_id)

    assert response.status == 202, await response.text()
    assert (body["state"], body["execution_status"]) == ("SUCCEEDED", "COMPLETED")
    assert (fake.resets, fake.configured_ssid) == (1, None)
    assert await device_state(api, device_id) == "DECOMMISSIONED"
    again = await api.post(decommission_path(device_id))
    await expect_problem(again, 409, ErrorCode.DEVICE_NOT_IN_SERVICE)


async def test_decommission_after_another_end_is_refused_the_device_is_not_in_service(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str
) -> None:
    api, fake = registered
    await hold(api, fake, device_id, site, "CANCELLED")
    await final(api, device_id)

    response = await api.post(decommission_path(device_id))

    await expect_problem(response, 409, ErrorCode.DEVICE_NOT_IN_SERVICE)
    assert fake.resets == 0


async def decommissioning(
    api: ApiClient, fake: FakeWifiDevice, device_id: str, site: str, held: str, state: str
) -> None:
    """The device in service, then its decommissioning run held in `state`."""
    await hold(api, fake, device_id, site, "SUCCEEDED")
    await final(api, device_id)
    fake.held.add(held)
    assert (await api.post(decommission_path(device_id))).status == 202
    await wait_for_decommission(api, device_id, state)


async def test_cancel_of_a_decommission_before_it_undoes_anything_leaves_the_device_in_service(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str
) -> None:
    api, fake = registered
    await decommissioning(api, fake, device_id, site, Step.DETECT.name, "DETECTING")

    response = await api.post(decommission_path(device_id, "cancel"))
    fake.held.clear()
    body = await decommission_final(api, device_id)

    assert response.status == 202
    assert (body["state"], body["error_code"], body["execution_status"]) == (
        "CANCELLED",
        "CANCELLED_BY_USER",
        "CANCELED",
    )
    assert noted(body, "cancel requested")
    assert fake.resets == 0
    assert await device_state(api, device_id) == "IN_SERVICE"


async def test_cancel_of_a_decommission_that_is_undoing_is_noted_and_the_decommission_finishes(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str
) -> None:
    api, fake = registered
    await decommissioning(api, fake, device_id, site, Step.RESET.name, "ROLLING_BACK")

    response = await api.post(decommission_path(device_id, "cancel"))
    await asyncio.sleep(0.5)
    fake.held.clear()
    body = await decommission_final(api, device_id)

    assert response.status == 202
    assert (body["state"], body["execution_status"]) == ("SUCCEEDED", "COMPLETED")
    assert noted(body, "cancel requested")
    assert fake.resets == 1
    assert await device_state(api, device_id) == "DECOMMISSIONED"
    after = await api.post(decommission_path(device_id, "cancel"))
    await expect_problem(after, 409, ErrorCode.RUN_ALREADY_FINISHED)


async def test_provisioning_while_a_decommission_runs_is_refused(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str
) -> None:
    api, fake = registered
    await decommissioning(api, fake, device_id, site, Step.RESET.name, "ROLLING_BACK")

    response = await api.post(run_path(device_id), json=provision_body(site))
    fake.held.clear()
    await decommission_final(api, device_id)

    await expect_problem(response, 409, ErrorCode.RUN_IN_PROGRESS)
    assert fake.applied == ["other-net"]


# --- re-provisioning ------------------------------------------------------------------
# The reprovision column: what `POST .../provision` with `reprovision` answers while the
# device's run is in each state (the registry decides: a device in service is the one a
# policy is about), and what cancel does while a reset undoes.


def reprovision_body(site: str, policy: str) -> dict[str, Any]:
    return {**provision_body(site, network=False), "reprovision": policy, "network": OTHER}


@pytest.mark.parametrize("policy", ["reset", "migrate"])
@pytest.mark.parametrize("state", ["DETECTING", "PENDING_NETWORK", "PROVISIONING"])
async def test_reprovision_while_the_device_is_being_provisioned_is_refused(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str, state: str, policy: str
) -> None:
    api, fake = registered
    await hold(api, fake, device_id, site, state)

    response = await api.post(run_path(device_id), json=reprovision_body(site, policy))
    fake.held.clear()

    await expect_problem(response, 409, ErrorCode.RUN_IN_PROGRESS)
    assert fake.resets == 0


async def test_reset_after_success_resets_then_provisions_in_one_run(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str
) -> None:
    api, fake = registered
    await hold(api, fake, device_id, site, "SUCCEEDED")
    await final(api, device_id)
    never = await api.post(run_path(device_id), json=provision_body(site))

    response = await api.post(run_path(device_id), json=reprovision_body(site, "reset"))
    body = await final(api, device_id)

    await expect_problem(never, 409, ErrorCode.DEVICE_IN_SERVICE)
    assert response.status == 202, await response.text()
    assert (body["state"], body["execution_status"]) == ("SUCCEEDED", "COMPLETED")
    assert (fake.resets, fake.applied, fake.configured_ssid) == (
        1,
        ["other-net", "other-net"],
        "other-net",
    )
    assert await device_state(api, device_id) == "IN_SERVICE"


async def test_migrate_after_success_moves_the_device_without_a_reset(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str
) -> None:
    api, fake = registered
    await hold(api, fake, device_id, site, "SUCCEEDED")
    await final(api, device_id)
    body = {**reprovision_body(site, "migrate"), "network": CREDENTIALS_NEW}

    response = await api.post(run_path(device_id), json=body)
    status = await final(api, device_id)

    assert response.status == 202, await response.text()
    assert status["state"] == "SUCCEEDED"
    assert (fake.resets, fake.configured_ssid, fake.fallback_ssid) == (0, "new-net", "other-net")
    record = await (await api.get(f"/api/v1/devices/{device_id}")).json()
    assert (record["state"], record["network_ssid"]) == ("IN_SERVICE", "new-net")


async def test_reprovision_after_another_end_provisions_the_device_as_new(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str
) -> None:
    api, fake = registered
    await hold(api, fake, device_id, site, "CANCELLED")
    await final(api, device_id)

    response = await api.post(run_path(device_id), json=reprovision_body(site, "reset"))
    body = await final(api, device_id)

    assert response.status == 202, await response.text()
    assert body["state"] == "SUCCEEDED"
    assert fake.resets == 0  # not in service: nothing to reset first


async def test_cancel_while_a_reset_undoes_finishes_the_reset_and_leaves_it_unprovisioned(
    registered: tuple[ApiClient, FakeWifiDevice], device_id: str, site: str
) -> None:
    api, fake = registered
    await hold(api, fake, device_id, site, "SUCCEEDED")
    await final(api, device_id)
    fake.held.add(Step.RESET.name)
    assert (await api.post(run_path(device_id), json=reprovision_body(site, "reset"))).status == 202
    await wait_for_state(api, device_id, "ROLLING_BACK")

    cancel = await api.post(run_path(device_id, "cancel"))
    fake.held.clear()
    body = await final(api, device_id)

    assert cancel.status == 202
    assert (body["state"], body["error_code"]) == ("ROLLED_BACK", "CANCELLED_BY_USER")
    assert (fake.resets, fake.applied) == (1, ["other-net"])
    assert await device_state(api, device_id) == "UNPROVISIONED"
