"""Re-provisioning a device in service (issue 18 item 4): `reprovision: reset` and
`reprovision: migrate` on `POST …/provision`.

Through the real dev server, real workers, the simulated HTTP Wi-Fi device and a real
SQLite registry shared by the central worker and the API, as under `make run`. What the
device holds — the network it is on, its station slots, its factory resets and
`WiFi.SetConfig` calls — is read from the simulator, never from devprov's report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import Client

from api.auth import AuthConfig, KeyStore, Scope, new_key
from config.policies import load_policy_book
from registry import DeviceRegistry
from simulators.http_wifi import RunningSimulator, SimulatedWifiDevice
from simulators.http_wifi.device import JoinStatus
from strategies.improv_ble import IMPROV_BLE_FAMILY
from tests.integration.conftest import (
    NETWORK,
    POLICY_ENV,
    ApiClient,
    request_body,
    serve_pipeline,
)
from tests.integration.test_http_wifi_pipeline import follow, run_path, states
from tests.sse import parse_sse

NEW_NETWORK = {"ssid": "devprov-lab-2", "passphrase": "another-horse-battery"}

OWNER, OWNER_STORED = new_key("tenant-a", [Scope.ADMIN], key_id="ownera")
OPERATOR, OPERATOR_STORED = new_key(
    "tenant-a", [Scope.PROVISION, Scope.READ, Scope.OPERATE], key_id="operatora"
)
NEW_OWNER, NEW_OWNER_STORED = new_key("tenant-b", [Scope.ADMIN], key_id="ownerb")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def on_network(simulator: RunningSimulator, device: SimulatedWifiDevice) -> str | None:
    """The network the simulated device is on now (None: on none)."""
    status = device.wifi_status(simulator.fleet.now(), simulator.fleet.networks)
    return status.ssid if status.status is JoinStatus.GOT_IP else None


async def record(api: ApiClient, device_id: str, key: str | None = None) -> dict[str, Any]:
    response = await api.get(f"/api/v1/devices/{device_id}", headers=bearer(key) if key else None)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def in_service(
    api: ApiClient, device: SimulatedWifiDevice, site: str, key: str | None = None
) -> dict[str, Any]:
    """Provision `device` on the lab network; its record once IN_SERVICE."""
    headers = bearer(key) if key else None
    started = await api.post(run_path(device), json=request_body(site), headers=headers)
    assert started.status == 202, await started.text()
    async with asyncio.timeout(60):
        stream = await api.get(run_path(device, "events"), headers=headers)
        events = [event.data for event in parse_sse(await stream.text())]
    assert states(events)[-1] == "SUCCEEDED"
    before = await record(api, device.device_id, key)
    assert (before["state"], before["network_ssid"]) == ("IN_SERVICE", "devprov-lab")
    return before


def reprovision(site: str, policy: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {**request_body(site, network=None), "reprovision": policy}
    body.update(fields)
    return body


# --- reset ------------------------------------------------------------------------------


async def test_reset_decommissions_then_provisions_in_one_run_on_the_new_network(
    registered_pipeline: ApiClient,
    simulator: RunningSimulator,
    device: SimulatedWifiDevice,
    site: str,
) -> None:
    simulator.fleet.set_network(NEW_NETWORK["ssid"], NEW_NETWORK["passphrase"])
    before = await in_service(registered_pipeline, device, site)

    started = await registered_pipeline.post(
        run_path(device), json=reprovision(site, "reset", network=NEW_NETWORK)
    )
    events = await follow(registered_pipeline, device)

    assert started.status == 202, await started.text()
    body = await started.json()
    assert body["workflow_id"] == f"provision-{device.device_id}"
    assert states(events) == [
        "PENDING",
        "DETECTING",
        "PRE_CHECK",
        "ROLLING_BACK",
        "DETECTING",
        "PRE_CHECK",
        "PROVISIONING",
        "CONFIRMING",
        "SUCCEEDED",
    ]
    phases = [event["details"].get("phase") for event in events if event["details"]]
    assert "reset" in phases
    assert "provision" in phases
    assert device.counters.factory_resets == 1
    assert device.counters.wifi_config_writes == 2
    assert on_network(simulator, device) == "devprov-lab-2"
    assert device.sta1.ssid is None  # a factory reset forgot everything
    after = await record(registered_pipeline, device.device_id)
    assert (after["state"], after["network_ssid"]) == ("IN_SERVICE", "devprov-lab-2")
    assert after["last_run_id"] == body["run_id"] != before["last_run_id"]
    assert "another-horse-battery" not in str(events) + str(after)


async def test_a_reset_whose_provisioning_fails_leaves_the_device_reset_and_unprovisioned(
    registered_pipeline: ApiClient,
    simulator: RunningSimulator,
    device: SimulatedWifiDevice,
    site: str,
) -> None:
    await in_service(registered_pipeline, device, site)
    absent = {"ssid": "devprov-nowhere", "passphrase": "no-such-network-here"}

    await registered_pipeline.post(
        run_path(device), json=reprovision(site, "reset", network=absent)
    )
    events = await follow(registered_pipeline, device)

    assert states(events)[-2:] == ["ROLLING_BACK", "ROLLED_BACK"]
    assert events[-1]["error_code"] == "NETWORK_JOIN_TIMEOUT"
    assert device.in_setup_mode
    assert device.counters.factory_resets == 2  # the reset, then the rollback's
    after = await record(registered_pipeline, device.device_id)
    assert (after["state"], after["network_ssid"], after["address"]) == (
        "UNPROVISIONED",
        None,
        None,
    )


# --- migrate ----------------------------------------------------------------------------


async def test_migrate_moves_the_device_to_the_new_network_without_a_factory_reset(
    registered_pipeline: ApiClient,
    simulator: RunningSimulator,
    device: SimulatedWifiDevice,
    site: str,
) -> None:
    simulator.fleet.set_network(NEW_NETWORK["ssid"], NEW_NETWORK["passphrase"])
    await in_service(registered_pipeline, device, site)
    set_config_calls = device.counters.set_config_calls

    started = await registered_pipeline.post(
        run_path(device), json=reprovision(site, "migrate", network=NEW_NETWORK)
    )
    events = await follow(registered_pipeline, device)

    assert started.status == 202, await started.text()
    assert states(events) == [
        "PENDING",
        "DETECTING",
        "PRE_CHECK",
        "PROVISIONING",
        "CONFIRMING",
        "SUCCEEDED",
    ]
    assert on_network(simulator, device) == "devprov-lab-2"
    assert (device.sta.ssid, device.sta1.ssid) == ("devprov-lab-2", "devprov-lab")
    assert device.counters.factory_resets == 0
    assert device.counters.set_config_calls == set_config_calls + 1
    after = await record(registered_pipeline, device.device_id)
    assert (after["state"], after["network_ssid"]) == ("IN_SERVICE", "devprov-lab-2")
    assert "another-horse-battery" not in str(events) + str(after)


async def test_a_migration_that_does_not_join_returns_the_device_to_its_old_network(
    registered_pipeline: ApiClient,
    simulator: RunningSimulator,
    device: SimulatedWifiDevice,
    site: str,
) -> None:
    simulator.fleet.set_network(NEW_NETWORK["ssid"], "the-network-wants-this-one")
    before = await in_service(registered_pipeline, device, site)

    await registered_pipeline.post(
        run_path(device), json=reprovision(site, "migrate", network=NEW_NETWORK)
    )
    events = await follow(registered_pipeline, device)

    assert states(events)[-3:] == ["CONFIRMING", "ROLLING_BACK", "ROLLED_BACK"]
    assert events[-1]["error_code"] == "MIGRATION_JOIN_FAILED"
    assert on_network(simulator, device) == "devprov-lab"
    assert not device.sta.enable  # the new station switched off: it stays on its fallback
    assert device.sta1.ssid == "devprov-lab"
    assert device.counters.factory_resets == 0
    after = await record(registered_pipeline, device.device_id)
    for field in ("state", "network_ssid", "address", "tenant"):
        assert after[field] == before[field], field


async def test_a_device_lost_after_a_failed_join_ends_rollback_failed_naming_it(
    temporal_client: Client,
    simulator: RunningSimulator,
    site: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    device_registry: DeviceRegistry,
    device: SimulatedWifiDevice,
) -> None:
    quick_rollback = load_policy_book(
        environ={
            **POLICY_ENV,
            "DEVPROV_POLICY__STRATEGIES__HTTP_WIFI__STEPS__ROLLBACK__START_TO_CLOSE": "3s",
        }
    )
    async with serve_pipeline(
        temporal_client,
        simulator,
        site,
        aiohttp_client,
        devices=device_registry,
        policies=quick_rollback,
    ) as api:
        await in_service(api, device, site)
        simulator.fleet.set_network(NEW_NETWORK["ssid"], "the-network-wants-this-one")
        device.faults = device.faults.model_copy(update={"lost_after_failed_join": True})

        await api.post(run_path(device), json=reprovision(site, "migrate", network=NEW_NETWORK))
        events = await follow(api, device)

        final = events[-1]
        assert (final["state"], final["error_code"]) == ("FAILED", "ROLLBACK_FAILED")
        assert "back on its previous network 'devprov-lab'" in final["message"]
        status = await (await api.get(run_path(device))).json()
        assert status["leftovers"] == [
            f"device {device.device_id} back on its previous network 'devprov-lab'"
        ]
        assert on_network(simulator, device) is None
        assert not device.reachable(simulator.fleet.now(), simulator.fleet.networks)
        after = await record(api, device.device_id)
        assert (after["state"], after["network_ssid"]) == ("FAILED", "devprov-lab")


# --- refusals and tenants ---------------------------------------------------------------


async def test_a_policy_the_strategy_does_not_support_is_refused_before_any_run(
    registered_pipeline: ApiClient,
) -> None:
    body = {**IMPROV_BLE_FAMILY.examples[0].body, "reprovision": "reset"}
    device_id = body["device"]["device_id"]

    response = await registered_pipeline.post(f"/api/v1/devices/{device_id}/provision", json=body)
    status = await registered_pipeline.get(f"/api/v1/devices/{device_id}/provision")
    catalog = await (await registered_pipeline.get("/api/v1/strategies")).json()

    problem = await response.json()
    assert (response.status, problem["code"]) == (422, "REPROVISION_POLICY_UNSUPPORTED")
    assert problem["supported"] == ["never"]
    assert (status.status, (await status.json())["code"]) == (404, "RUN_NOT_FOUND")
    policies = {entry["name"]: entry["reprovision"]["policies"] for entry in catalog}
    assert policies["http-wifi"] == ["never", "reset", "migrate"]
    assert policies["improv-ble"] == ["never"]


async def test_a_migration_to_another_tenant_takes_an_admin_key_and_moves_the_record(
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
        auth=AuthConfig(KeyStore([OWNER_STORED, OPERATOR_STORED, NEW_OWNER_STORED])),
    ) as api:
        await in_service(api, device, site, OWNER)
        writes = device.counters.set_config_calls
        move = reprovision(site, "migrate", tenant="tenant-b")

        as_operator = await api.post(run_path(device), json=move, headers=bearer(OPERATOR))
        as_stranger = await api.post(run_path(device), json=move, headers=bearer(NEW_OWNER))
        assert (as_operator.status, (await as_operator.json())["code"]) == (403, "FORBIDDEN")
        assert (as_stranger.status, (await as_stranger.json())["code"]) == (404, "NOT_FOUND")

        started = await api.post(run_path(device), json=move, headers=bearer(OWNER))
        assert started.status == 202, await started.text()
        handle = temporal_client.get_workflow_handle(f"provision-{device.device_id}")
        await handle.result()

        moved = await record(api, device.device_id, NEW_OWNER)
        gone = await api.get(f"/api/v1/devices/{device.device_id}", headers=bearer(OWNER))
        assert (moved["tenant"], moved["state"], moved["network_ssid"]) == (
            "tenant-b",
            "IN_SERVICE",
            "devprov-lab",
        )
        assert gone.status == 404
        assert device.counters.set_config_calls == writes  # the device was not touched
        assert on_network(simulator, device) == NETWORK["ssid"]
