"""Enrollments: with `enrollment_required` on, only the devices a tenant enrolled are
provisioned; the others are refused 403 DEVICE_NOT_ENROLLED before any workflow exists
and their device never hears from a gateway."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.app import ApiDependencies, create_app
from api.auth import AuthConfig, KeyStore, Scope, new_key
from domain.fleet import fleet_workflow_id
from domain.run import ProvisionRun, workflow_id_for
from registry import opened_registry
from tests.api.conftest import PASSPHRASE, ApiClient, bearer, provision_body, read_sse, run_path
from tests.fakes import FakeWifiDevice, FakeWifiFleet
from worker.workers import central_worker, edge_worker

ADMIN_A, ADMIN_A_STORED = new_key("tenant-a", [Scope.ADMIN], key_id="admina")
STARTER_A, STARTER_A_STORED = new_key("tenant-a", [Scope.PROVISION, Scope.READ], key_id="starta")
ENROLLER_A, ENROLLER_A_STORED = new_key("tenant-a", [Scope.ENROLL], key_id="enrolla")
ADMIN_B, ADMIN_B_STORED = new_key("tenant-b", [Scope.ADMIN], key_id="adminb")
CLAIM_SECRET = "the-label-inside-the-lid-7781"
INDIVIDUAL = "/api/v1/enrollments/individual"
GROUP = "/api/v1/enrollments/group"
SETTINGS = "/api/v1/tenant/settings"


@pytest.fixture
async def api(
    aiohttp_client: Callable[..., Awaitable[ApiClient]], api_deps: ApiDependencies, tmp_path: Path
) -> AsyncIterator[ApiClient]:
    """The API with its registry and two tenants; tenant-a requires enrollment."""
    async with opened_registry(f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}") as devices:
        keys = [ADMIN_A_STORED, STARTER_A_STORED, ENROLLER_A_STORED, ADMIN_B_STORED]
        deps = dataclasses.replace(api_deps, auth=AuthConfig(KeyStore(keys)), devices=devices)
        client = await aiohttp_client(create_app(deps))
        required = await client.put(
            SETTINGS, json={"enrollment_required": True}, headers=bearer(ADMIN_A)
        )
        assert required.status == 200, await required.text()
        yield client


async def enroll(api: ApiClient, body: dict[str, Any], path: str = INDIVIDUAL) -> Any:
    response = await api.post(path, json=body, headers=bearer(ENROLLER_A))
    assert response.status == 201, await response.text()
    return await response.json()


async def provision(api: ApiClient, device_id: str, body: dict[str, Any]) -> Any:
    return await api.post(run_path(device_id), json=body, headers=bearer(STARTER_A))


async def no_workflow(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        return error.status is RPCStatusCode.NOT_FOUND
    return False


async def final_state(api: ApiClient, device_id: str, within: float = 20) -> str:
    async with asyncio.timeout(within):
        while True:
            response = await api.get(run_path(device_id), headers=bearer(STARTER_A))
            body = await response.json()
            if response.status == 200 and body["execution_status"] != "RUNNING":
                return str(body["state"])
            await asyncio.sleep(0.1)


async def run_input(client: Client, device_id: str) -> ProvisionRun:
    """The input the device's run was started with, as its workers decode it."""
    handle = client.get_workflow_handle(workflow_id_for(device_id))
    async for event in handle.fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [run] = await client.data_converter.decode(list(payloads), [ProvisionRun])
        assert isinstance(run, ProvisionRun)
        return run
    raise AssertionError("the run has no history")


async def assert_refused(response: Any) -> dict[str, Any]:
    assert response.status == 403, await response.text()
    assert response.content_type == "application/problem+json"
    problem: dict[str, Any] = await response.json()
    assert problem["code"] == "DEVICE_NOT_ENROLLED"
    return problem


async def test_an_unenrolled_device_is_refused_and_no_run_starts(
    api: ApiClient, workers: FakeWifiDevice, temporal_client: Client, device_id: str, site: str
) -> None:
    problem = await assert_refused(await provision(api, device_id, provision_body(site)))

    assert device_id in problem["detail"]
    assert await no_workflow(temporal_client, workflow_id_for(device_id))
    assert workers.calls == []


async def test_an_individually_enrolled_device_provisions_and_its_run_says_so(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await enroll(api, {"device_id": device_id, "vendor": "shelly", "serial": "SN-0001"})

    started = await provision(api, device_id, provision_body(site))

    assert started.status == 202, await started.text()
    assert (await started.json())["enrollment"] == f"individual/{device_id}"
    assert await final_state(api, device_id) == "SUCCEEDED"
    assert workers.configured_ssid == "home-net"


async def test_a_group_glob_admits_a_device_and_gives_it_the_groups_site(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    prefix = device_id[: device_id.index("-") + 1]
    await enroll(
        api,
        {"group_id": "relays", "device_id_glob": f"{prefix}*", "defaults": {"site": site}},
        GROUP,
    )
    body = provision_body(site)
    del body["device"]["site"]  # the group's default site: where the fake device is heard

    started = await provision(api, device_id, body)

    assert started.status == 202, await started.text()
    assert (await started.json())["enrollment"] == "group/relays"
    assert await final_state(api, device_id) == "SUCCEEDED"


async def test_a_disabled_enrollment_refuses_even_when_a_group_would_admit(
    api: ApiClient, workers: FakeWifiDevice, temporal_client: Client, device_id: str, site: str
) -> None:
    await enroll(api, {"device_id": device_id, "enabled": False})
    await enroll(api, {"group_id": "all-shelly", "vendor": "shelly"}, GROUP)

    problem = await assert_refused(await provision(api, device_id, provision_body(site)))

    assert "disabled" in problem["detail"]
    assert await no_workflow(temporal_client, workflow_id_for(device_id))
    assert workers.calls == []


async def test_a_claim_secret_is_required_when_set_and_never_shown(
    api: ApiClient,
    workers: FakeWifiDevice,
    temporal_client: Client,
    device_id: str,
    site: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await enroll(api, {"device_id": device_id, "claim_secret": CLAIM_SECRET})
    without = await provision(api, device_id, provision_body(site))
    wrong = await provision(
        api, device_id, {**provision_body(site), "secrets": {"claim_secret": "not-the-one-123"}}
    )
    assert "claim secret" in (await assert_refused(without))["detail"]
    await assert_refused(wrong)
    assert workers.calls == []

    started = await provision(
        api, device_id, {**provision_body(site), "secrets": {"claim_secret": CLAIM_SECRET}}
    )

    assert started.status == 202, await started.text()
    assert await final_state(api, device_id) == "SUCCEEDED"
    shown = [
        str(created),
        await started.text(),
        await (await api.get(f"{INDIVIDUAL}/{device_id}", headers=bearer(ENROLLER_A))).text(),
        await (await api.get(INDIVIDUAL, headers=bearer(ENROLLER_A))).text(),
        await (await api.get(run_path(device_id), headers=bearer(STARTER_A))).text(),
        caplog.text,
    ]
    assert created["claim_secret_set"] is True
    assert all(CLAIM_SECRET not in text for text in shown)
    run = await run_input(temporal_client, device_id)
    assert "claim_secret" not in run.request.secrets  # checked by the API, never carried
    assert run.enrollment == f"individual/{device_id}"


async def test_a_retry_is_admitted_again_and_refused_once_the_enrollment_is_disabled(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await enroll(api, {"device_id": device_id, "claim_secret": CLAIM_SECRET})
    body = {**provision_body(site, network=False), "secrets": {"claim_secret": CLAIM_SECRET}}
    assert (await provision(api, device_id, body)).status == 202
    await api.post(run_path(device_id, "cancel"), headers=bearer(ADMIN_A))
    await final_state(api, device_id)

    retried = await api.post(run_path(device_id, "retry"), headers=bearer(ADMIN_A))
    assert retried.status == 202, await retried.text()  # the first run proved the secret
    assert (await retried.json())["enrollment"] == f"individual/{device_id}"
    await api.post(run_path(device_id, "cancel"), headers=bearer(ADMIN_A))
    last_run_id = (await retried.json())["run_id"]
    await final_state(api, device_id)
    disabled = await api.patch(
        f"{INDIVIDUAL}/{device_id}", json={"enabled": False}, headers=bearer(ENROLLER_A)
    )
    assert disabled.status == 200

    await assert_refused(await api.post(run_path(device_id, "retry"), headers=bearer(ADMIN_A)))
    status = await (await api.get(run_path(device_id), headers=bearer(STARTER_A))).json()
    assert status["run_id"] == last_run_id


async def test_another_tenants_enrollment_is_not_found_and_admits_nothing_for_it(
    api: ApiClient, temporal_client: Client, device_id: str, site: str
) -> None:
    await enroll(api, {"device_id": device_id})
    await enroll(api, {"group_id": "everything", "device_id_glob": "*"}, GROUP)
    await api.put(SETTINGS, json={"enrollment_required": True}, headers=bearer(ADMIN_B))

    seen = await api.get(f"{INDIVIDUAL}/{device_id}", headers=bearer(ADMIN_B))
    group = await api.get(f"{GROUP}/everything", headers=bearer(ADMIN_B))
    deleted = await api.delete(f"{INDIVIDUAL}/{device_id}", headers=bearer(ADMIN_B))
    listed = await (await api.get(INDIVIDUAL, headers=bearer(ADMIN_B))).json()
    started = await api.post(
        run_path(device_id), json=provision_body(site), headers=bearer(ADMIN_B)
    )

    assert (seen.status, group.status, deleted.status) == (404, 404, 404)
    assert listed == {"items": [], "next_cursor": None}
    await assert_refused(started)
    assert await no_workflow(temporal_client, workflow_id_for(device_id))


async def test_a_csv_with_a_bad_line_is_refused_naming_it_and_imports_nothing(
    api: ApiClient,
) -> None:
    csv_text = "device_id,serial,mac\nplug-1,SN-1,aa:bb:cc:dd:ee:01\nplug-2,SN-2,not-a-mac\n"

    response = await api.post(
        "/api/v1/enrollments/import",
        data=csv_text,
        headers={**bearer(ENROLLER_A), "Content-Type": "text/csv"},
    )

    assert response.status == 422, await response.text()
    problem = await response.json()
    assert problem["code"] == "INVALID_REQUEST"
    assert [error["loc"][:3] for error in problem["errors"]] == [["body", 3, "mac"]]
    listed = await (await api.get(INDIVIDUAL, headers=bearer(ENROLLER_A))).json()
    assert listed["items"] == []


async def test_a_csv_import_enrolls_every_line(api: ApiClient) -> None:
    csv_text = "device_id,claim_secret,enabled\nplug-1,,\nplug-2,a-long-claim-secret,false\n"

    response = await api.post(
        "/api/v1/enrollments/import",
        data=csv_text,
        headers={**bearer(ENROLLER_A), "Content-Type": "text/csv"},
    )

    assert response.status == 200, await response.text()
    assert await response.json() == {"imported": 2}
    listed = await (await api.get(INDIVIDUAL, headers=bearer(ENROLLER_A))).json()
    assert [(e["device_id"], e["claim_secret_set"], e["enabled"]) for e in listed["items"]] == [
        ("plug-1", False, True),
        ("plug-2", True, False),
    ]


async def test_a_fleet_with_one_unenrolled_device_starts_nothing(
    api: ApiClient, temporal_client: Client, site: str
) -> None:
    await enroll(api, {"device_id": "line-plug-1"})
    await enroll(api, {"device_id": "line-plug-2"})
    fleet = {
        "template": {
            "type": "wifi-relay",
            "vendor": "shelly",
            "capabilities": ["wifi", "http-rpc"],
            "site": site,
        },
        "devices": [{"device_id": d} for d in ("line-plug-1", "line-plug-2", "line-plug-3")],
        "network": {"ssid": "home-net", "passphrase": "correct-horse-battery"},
    }
    fleet_id = f"fleet-{site}"

    response = await api.post(
        f"/api/v1/fleets/{fleet_id}/provision", json=fleet, headers=bearer(STARTER_A)
    )

    problem = await assert_refused(response)
    assert [r["device_id"] for r in problem["refused"]] == ["line-plug-3"]
    assert await no_workflow(temporal_client, fleet_workflow_id(fleet_id))


async def test_only_enroll_and_admin_keys_manage_enrollments_and_only_admins_the_setting(
    api: ApiClient,
) -> None:
    by_starter = await api.post(INDIVIDUAL, json={"device_id": "x"}, headers=bearer(STARTER_A))
    read_by_starter = await api.get(INDIVIDUAL, headers=bearer(STARTER_A))
    setting_by_enroller = await api.put(
        SETTINGS, json={"enrollment_required": False}, headers=bearer(ENROLLER_A)
    )
    by_admin = await api.post(INDIVIDUAL, json={"device_id": "x"}, headers=bearer(ADMIN_A))
    settings = await (await api.get(SETTINGS, headers=bearer(STARTER_A))).json()

    assert (by_starter.status, read_by_starter.status, setting_by_enroller.status) == (
        403,
        403,
        403,
    )
    assert by_admin.status == 201
    assert settings["enrollment_required"] is True


async def test_a_fleet_admitted_by_a_group_gets_its_site_and_provisions(
    api: ApiClient, temporal_client: Client, task_queue: str, site: str
) -> None:
    devices = FakeWifiFleet()
    ids = [f"line-{site}-{n}" for n in range(3)]
    for device_id in ids:
        devices.add(device_id, good_passphrase=PASSPHRASE)
    await enroll(
        api,
        {"group_id": "line", "device_id_glob": f"line-{site}-*", "defaults": {"site": site}},
        GROUP,
    )
    fleet = {  # no site: the group's is where the gateway hears the devices
        "template": {
            "type": "wifi-relay",
            "vendor": "shelly",
            "capabilities": ["wifi", "http-rpc"],
        },
        "devices": [{"device_id": d} for d in ids],
        "network": {"ssid": "home-net", "passphrase": PASSPHRASE},
    }
    path = f"/api/v1/fleets/fleet-{site}/provision"

    async with (
        central_worker(temporal_client, task_queue=task_queue),
        edge_worker(temporal_client, site=site, activities=devices.activities()),
    ):
        started = await api.post(path, json=fleet, headers=bearer(STARTER_A))
        assert started.status == 202, await started.text()
        events = await read_sse(
            await api.get(f"{path}/events", headers=bearer(STARTER_A)), within=60
        )

    assert events[-1].data["counts"]["SUCCEEDED"] == 3
    assert all(devices.devices[d].configured_ssid == "home-net" for d in ids)
