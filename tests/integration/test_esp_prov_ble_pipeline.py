"""ESP-IDF unified provisioning through Temporal and a real edge worker on the virtual BLE
link: the `esp-prov-ble` workflow, its activities on gateway `gw1`, the adapter over
bleak on bumble, and simulated ESP32s as bumble GATT servers. Tests assert the states a
person following the run sees and what the devices saw (their own counters).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from adapters.ble import VirtualBleRadio
from adapters.esp_prov import SecurityScheme
from config.policies import load_policy_book
from config.settings import BleSettings, EdgeSettings, Settings, WorkerSettings
from domain.device import DeviceDescriptor
from domain.progress import ProgressSnapshot, ProvisionResult
from domain.requests import NetworkCredentials, ProvisionRequest
from domain.run import ProvisionRun, workflow_id_for
from domain.states import ProvisioningState as S
from simulators.esp_prov import EspDeviceFaults, EspDeviceFleet, EspDeviceSpec, Station
from strategies.esp_prov_ble import ESP_PROV_BLE_SPEC, PASSWORD_SECRET, POP_SECRET
from tests.workflows.helpers import progress, states_seen, wait_for_state
from worker.capabilities import SimulatedWorld
from worker.capabilities.esp_prov_ble import share_virtual_esp_radio
from worker.edge import edge_node
from workflows import search_attributes as sa

PLUG = "esp-plug"
"""Security 2: SRP6a with the username `wifiprov` and `PASSWORD`."""
LAMP = "esp-lamp"
"""Security 1: X25519 with the proof of possession `POP`."""
PASSWORD = "study-plug-srp-password"
POP = "attic-lamp-pop"
LAB = {"ssid": "devprov-lab", "passphrase": "correct-horse-battery"}

POLICY_ENV = {
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_POLL_INTERVAL": "200ms",
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "20s",
    "DEVPROV_POLICY__DEFAULTS__STEPS__DETECT__RETRY__MAXIMUM_ATTEMPTS": "1",
    "DEVPROV_POLICY__STRATEGIES__ESP_PROV_BLE__STEPS__CONFIRM__START_TO_CLOSE": "10s",
    "DEVPROV_POLICY__STRATEGIES__ESP_PROV_BLE__STEPS__CONFIRM__HEARTBEAT": "2s",
    **{
        f"DEVPROV_POLICY__DEFAULTS__STEPS__{step}__RETRY__INITIAL_INTERVAL": "100ms"
        for step in ("DETECT", "PRE_CHECK", "PROVISION", "CONFIRM", "ROLLBACK")
    },
}


def esp_run(
    device_id: str, site: str, secrets: dict[str, str], *, network: dict[str, str] = LAB
) -> ProvisionRun:
    device = DeviceDescriptor(
        device_id=device_id,
        type="wifi-plug",
        vendor="espressif",
        capabilities=frozenset({"ble", "esp-prov", "wifi"}),
        site=site,
    )
    book = load_policy_book(environ=POLICY_ENV)
    return ProvisionRun(
        request=ProvisionRequest(
            device=device,
            network=NetworkCredentials.model_validate(network),
            secrets={name: SecretStr(value) for name, value in secrets.items()},
        ),
        strategy=ESP_PROV_BLE_SPEC.name,
        policy=book.for_strategy(ESP_PROV_BLE_SPEC.name),
    )


async def start(
    client: Client, run: ProvisionRun, central: str
) -> WorkflowHandle[Any, ProvisionResult]:
    return await client.start_workflow(
        ESP_PROV_BLE_SPEC.workflow,
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


@pytest.fixture
async def esp_fleet(ble_radio: VirtualBleRadio) -> AsyncIterator[EspDeviceFleet]:
    specs = [
        EspDeviceSpec(device_id=PLUG, secret=PASSWORD, join_delay=0.1),
        EspDeviceSpec(device_id=LAMP, security=SecurityScheme.SEC1, secret=POP, join_delay=0.1),
    ]
    async with EspDeviceFleet(ble_radio, specs) as fleet:
        yield fleet


@pytest.fixture
async def gw1(
    temporal_client: Client, ble_radio: VirtualBleRadio, site: str, tmp_path: Path
) -> AsyncIterator[str]:
    """Gateway `gw1` of the test's site, hosting the `esp-prov-ble` capability only."""
    world = SimulatedWorld()
    share_virtual_esp_radio(world, ble_radio)
    settings = Settings(
        edge=EdgeSettings.defaults(capabilities=("esp-prov-ble",)),
        ble=BleSettings.defaults(backend="virtual", scan_timeout_seconds=0.5),
        worker=WorkerSettings.defaults(data_dir=tmp_path),
    )
    async with edge_node(temporal_client, settings, site=site, host="gw1", world=world):
        yield "gw1"


async def test_a_security_2_device_joins_and_the_secret_never_shows(
    temporal_client: Client, central: str, gw1: str, site: str, esp_fleet, logs
) -> None:
    handle = await start(temporal_client, esp_run(PLUG, site, {PASSWORD_SECRET: PASSWORD}), central)

    final = await outcome(handle)

    assert final.state is S.SUCCEEDED
    assert states_seen(final) == [
        S.PENDING,
        S.DETECTING,
        S.PRE_CHECK,
        S.PROVISIONING,
        S.CONFIRMING,
        S.SUCCEEDED,
    ]
    plug = esp_fleet[PLUG]
    assert (plug.station, plug.ssid) == (Station.CONNECTED, "devprov-lab")
    assert plug.ip_address is not None
    assert plug.ip_address in final.message
    assert (plug.counters.configs_applied, plug.counters.session_auth_failures) == (1, 0)
    shown = final.model_dump_json() + "\n".join(logs.text)
    assert PASSWORD not in shown
    assert LAB["passphrase"] not in shown


async def test_a_security_1_device_joins_with_its_proof_of_possession(
    temporal_client: Client, central: str, gw1: str, site: str, esp_fleet
) -> None:
    handle = await start(temporal_client, esp_run(LAMP, site, {POP_SECRET: POP}), central)

    final = await outcome(handle)

    assert final.state is S.SUCCEEDED
    assert esp_fleet[LAMP].station is Station.CONNECTED


async def test_a_wrong_password_fails_validation_before_anything_changes(
    temporal_client: Client, central: str, gw1: str, site: str, esp_fleet
) -> None:
    handle = await start(
        temporal_client, esp_run(PLUG, site, {PASSWORD_SECRET: "not-the-password"}), central
    )

    final = await outcome(handle)

    assert (final.state, final.error_code) == (S.FAILED_VALIDATION, "SESSION_AUTH_FAILED")
    assert S.PROVISIONING not in states_seen(final)
    plug = esp_fleet[PLUG]
    assert plug.counters.session_auth_failures == 1
    assert (plug.counters.configs_received, plug.counters.resets) == (0, 0)
    assert (plug.station, plug.ssid) == (Station.IDLE, None)


async def test_a_rejected_passphrase_asks_for_credentials_again_and_then_succeeds(
    temporal_client: Client, central: str, gw1: str, site: str, esp_fleet
) -> None:
    wrong = {"ssid": "devprov-lab", "passphrase": "not-the-lab-passphrase"}
    run = esp_run(PLUG, site, {PASSWORD_SECRET: PASSWORD}, network=wrong)
    handle = await start(temporal_client, run, central)

    pending = await wait_for_state(handle, S.PENDING_NETWORK)
    await handle.execute_update("submit_credentials", NetworkCredentials.model_validate(LAB))
    final = await outcome(handle)

    assert pending.error_code == "CREDENTIALS_REJECTED"
    assert final.state is S.SUCCEEDED
    plug = esp_fleet[PLUG]
    # ESP-IDF takes credentials once: the failed ones were reset before the new ones.
    assert (plug.counters.configs_applied, plug.counters.resets) == (2, 1)
    assert (plug.station, plug.ssid) == (Station.CONNECTED, "devprov-lab")


async def test_a_network_the_device_cannot_find_ends_the_run_rolled_back(
    temporal_client: Client, central: str, gw1: str, site: str, esp_fleet
) -> None:
    elsewhere = {"ssid": "devprov-elsewhere", "passphrase": "correct-horse-battery"}
    run = esp_run(PLUG, site, {PASSWORD_SECRET: PASSWORD}, network=elsewhere)
    handle = await start(temporal_client, run, central)

    final = await outcome(handle)

    assert (final.state, final.error_code) == (S.ROLLED_BACK, "NETWORK_NOT_FOUND")
    assert "devprov-elsewhere" in final.message
    plug = esp_fleet[PLUG]
    # The rollback went through `prov-ctrl`: the device forgot what it was sent.
    assert plug.counters.resets == 1
    assert (plug.station, plug.ssid, plug.pending_ssid) == (Station.IDLE, None, None)


async def test_cancelling_while_the_configuration_is_sent_resets_the_device(
    temporal_client: Client, central: str, gw1: str, site: str, esp_fleet
) -> None:
    handle = await start(temporal_client, esp_run(PLUG, site, {PASSWORD_SECRET: PASSWORD}), central)
    await wait_for_state(handle, S.PROVISIONING)

    await handle.cancel()
    final = await outcome(handle)

    # The step that sends the configuration ends first (it may have reached the
    # device); then the rollback resets the device through prov-ctrl, whatever it got.
    # (The step is quick: on a busy machine the cancel may land just after it, in
    # CONFIRMING — the same rollback.)
    assert (final.state, final.error_code) == (S.ROLLED_BACK, "CANCELLED_BY_USER")
    assert S.PROVISIONING in states_seen(final)
    plug = esp_fleet[PLUG]
    assert plug.counters.resets == 1
    assert (plug.station, plug.ssid, plug.pending_ssid) == (Station.IDLE, None, None)


async def test_cancelling_while_the_device_joins_resets_it_through_prov_ctrl(
    temporal_client: Client, central: str, gw1: str, site: str, esp_fleet
) -> None:
    plug = esp_fleet[PLUG]
    plug.faults = EspDeviceFaults(never_connects=True)
    handle = await start(temporal_client, esp_run(PLUG, site, {PASSWORD_SECRET: PASSWORD}), central)
    await wait_for_state(handle, S.CONFIRMING)
    async with asyncio.timeout(10):
        while plug.station is not Station.CONNECTING:
            await asyncio.sleep(0.05)

    await handle.cancel()
    final = await outcome(handle)

    assert (final.state, final.error_code) == (S.ROLLED_BACK, "CANCELLED_BY_USER")
    assert plug.counters.configs_applied == 1
    assert plug.counters.resets == 1
    assert (plug.station, plug.ssid) == (Station.IDLE, None)
