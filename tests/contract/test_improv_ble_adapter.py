"""Contract of `ImprovBleAdapter` over the virtual BLE link.

Every test runs the real adapter, bleak with the bumble backend, a virtual controller
per side on one `LocalLink`, and a simulated Improv device as a bumble GATT server:
real advertising, connections, GATT reads and writes, and notifications. Tests assert
what the adapter returns or raises and what the device saw.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging

import httpx
import pytest
from improv_ble_client.protocol import State
from pydantic import SecretStr

from adapters.ble import BleStack, VirtualBleRadio, open_ble_stack
from adapters.errors import AdapterError
from adapters.improv import BLE_ADDRESS_HINT, BLE_NAME_HINT, ImprovBleAdapter
from domain.errors import ErrorCode
from domain.requests import NetworkCredentials
from simulators.http_wifi import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID
from simulators.improv_ble import (
    PREVIOUS_NETWORK_SSID,
    ImprovDeviceFaults,
    ImprovDeviceFleet,
    ImprovDeviceSpec,
    RunningImprovControl,
)
from tests.ble_fixtures import BULB, PLUG, SCAN_TIMEOUT, TIMEOUTS, improv_device
from tests.contract.assertions import assert_error

LAB = NetworkCredentials(ssid=LAB_NETWORK_SSID, passphrase=SecretStr(LAB_NETWORK_PASSPHRASE))
WRONG_PASSPHRASE = "not-the-lab-passphrase"
WRONG = NetworkCredentials(ssid=LAB_NETWORK_SSID, passphrase=SecretStr(WRONG_PASSPHRASE))


def impatient_adapter(stack: BleStack, **timeouts: float) -> ImprovBleAdapter:
    """An adapter with some timeouts shorter than the fixture's."""
    return ImprovBleAdapter(
        stack,
        scan_timeout=SCAN_TIMEOUT,
        timeouts=dataclasses.replace(TIMEOUTS, **timeouts),
    )


async def press_button_soon(fleet: ImprovDeviceFleet, device_id: str, delay: float = 0.1) -> None:
    await asyncio.sleep(delay)
    await fleet.press_button(device_id)


async def authorize_and_provision(
    adapter: ImprovBleAdapter, fleet: ImprovDeviceFleet, network: NetworkCredentials = LAB
) -> str | None:
    device = improv_device(BULB)
    press = asyncio.create_task(press_button_soon(fleet, BULB))
    await adapter.wait_for_authorization(device, timeout=2.0)
    await press
    return (await adapter.provision(device, network)).redirect_url


async def web_page(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as http:
        return await http.get(url)


# --- finding the device ----------------------------------------------------------------


async def test_detect_reads_the_advertised_state_and_capabilities(
    improv_adapter, improv_fleet
) -> None:
    found = await improv_adapter.detect(improv_device(BULB))

    assert found.device_id == BULB
    assert found.provisioned is False
    assert found.attributes["improv_state"] == "authorization_required"
    assert found.attributes["capabilities"] == "identify,device_info"
    assert found.attributes["ble_address"] == improv_fleet.address_of(BULB)
    assert found.attributes["ble_name"] == BULB


async def test_detect_finds_a_device_by_its_address_hint(improv_adapter, improv_fleet) -> None:
    address = improv_fleet.address_of(PLUG)

    found = await improv_adapter.detect(
        improv_device("label-says-plug", **{BLE_ADDRESS_HINT: address})
    )

    assert found.attributes["ble_address"] == address
    assert found.attributes["improv_state"] == "authorized"


async def test_detect_finds_a_device_by_its_advertised_name_hint(
    improv_adapter, improv_fleet
) -> None:
    found = await improv_adapter.detect(improv_device("porch-light", **{BLE_NAME_HINT: PLUG}))

    assert found.attributes["ble_name"] == PLUG


async def test_detect_of_an_absent_device_is_unreachable(improv_adapter, improv_fleet) -> None:
    with pytest.raises(AdapterError) as caught:
        await improv_adapter.detect(improv_device("improv-absent"))

    assert_error(caught.value, ErrorCode.DEVICE_UNREACHABLE, retryable=True)
    assert caught.value.details["reason"] == "not_advertising"
    assert "improv-absent" in caught.value.message


async def test_a_device_switched_off_is_no_longer_found(improv_adapter, improv_fleet) -> None:
    await improv_fleet.remove(PLUG)

    with pytest.raises(AdapterError) as caught:
        await improv_adapter.detect(improv_device(PLUG))

    assert caught.value.code is ErrorCode.DEVICE_UNREACHABLE


# --- reading and identifying -----------------------------------------------------------


async def test_read_state_reports_state_capabilities_and_device_info(
    improv_adapter, improv_fleet
) -> None:
    state = await improv_adapter.read_state(improv_device(BULB))

    assert (state.provisioned, state.model, state.firmware) == (
        False,
        "ESP32-C3",
        "devprov-sim 2025.1.0",
    )
    assert state.attributes["improv_state"] == "authorization_required"
    assert state.attributes["improv_error"] == "no_error"
    assert state.attributes["capabilities"] == "identify,device_info"
    assert state.attributes["device_name"] == BULB


async def test_identify_makes_the_device_identify_itself(improv_adapter, improv_fleet) -> None:
    assert await improv_adapter.identify(improv_device(BULB)) is True

    assert improv_fleet[BULB].counters.identifies == 1


async def test_identify_is_skipped_for_a_device_that_cannot(ble_radio, improv_adapter) -> None:
    async with ImprovDeviceFleet(
        ble_radio, [ImprovDeviceSpec(device_id="mute", identify=False)]
    ) as fleet:
        assert await improv_adapter.identify(improv_device("mute")) is False

        assert fleet["mute"].counters.identifies == 0
        assert fleet["mute"].counters.rpc_errors == {}


# --- the onboarding --------------------------------------------------------------------


async def test_onboarding_authorizes_provisions_and_the_device_answers_at_its_redirect_url(
    improv_adapter, improv_fleet, improv_web: RunningImprovControl, ble_stack: BleStack
) -> None:
    redirect_url = await authorize_and_provision(improv_adapter, improv_fleet)

    assert redirect_url == f"{improv_web.base_url}/_sim/ble/devices/{BULB}/http"
    page = await web_page(redirect_url)
    assert page.status_code == 200
    assert page.json()["ssid"] == LAB_NETWORK_SSID
    bulb = improv_fleet[BULB]
    assert bulb.state.name == "PROVISIONED"
    assert (bulb.counters.credentials_received, bulb.counters.provisions_succeeded) == (1, 1)
    assert set(bulb.counters.connections) == {ble_stack.address}


async def test_a_device_without_a_button_is_authorized_at_once(
    improv_adapter, improv_fleet
) -> None:
    state = await improv_adapter.wait_for_authorization(improv_device(PLUG), timeout=0.1)

    assert state.name == "AUTHORIZED"
    assert improv_fleet[PLUG].counters.button_presses == 0


async def test_authorization_never_given_times_out(improv_adapter, improv_fleet) -> None:
    with pytest.raises(AdapterError) as caught:
        await improv_adapter.wait_for_authorization(improv_device(BULB), timeout=0.3)

    assert_error(caught.value, ErrorCode.IMPROV_AUTHORIZATION_TIMEOUT, retryable=False)
    assert improv_fleet[BULB].state.name == "AUTHORIZATION_REQUIRED"


async def test_a_device_that_ignores_its_button_times_out(improv_adapter, improv_fleet) -> None:
    await improv_fleet.set_faults(BULB, ImprovDeviceFaults(never_authorizes=True))
    press = asyncio.create_task(press_button_soon(improv_fleet, BULB))

    with pytest.raises(AdapterError) as caught:
        await improv_adapter.wait_for_authorization(improv_device(BULB), timeout=0.4)
    await press

    assert caught.value.code is ErrorCode.IMPROV_AUTHORIZATION_TIMEOUT
    assert improv_fleet[BULB].counters.button_presses_ignored == 1


async def test_waiting_for_authorization_heartbeats(improv_adapter, improv_fleet) -> None:
    beats: list[str] = []

    with pytest.raises(AdapterError):
        await improv_adapter.wait_for_authorization(
            improv_device(BULB), timeout=0.5, heartbeat=beats.append
        )

    assert beats
    assert "button" in beats[0]


async def test_provisioning_an_unauthorized_device_is_refused_before_sending(
    improv_adapter, improv_fleet
) -> None:
    with pytest.raises(AdapterError) as caught:
        await improv_adapter.provision(improv_device(BULB), LAB)

    assert_error(caught.value, ErrorCode.IMPROV_NOT_AUTHORIZED, retryable=False)
    assert improv_fleet[BULB].counters.credentials_received == 0


@pytest.mark.parametrize(
    "improv_specs",
    [[ImprovDeviceSpec(device_id=BULB, authorization_timeout=0.2, join_delay=0.05)]],
)
async def test_an_expired_authorization_needs_the_button_again(
    improv_adapter, improv_fleet
) -> None:
    await improv_fleet.press_button(BULB)
    await asyncio.sleep(0.4)

    with pytest.raises(AdapterError) as caught:
        await improv_adapter.provision(improv_device(BULB), LAB)

    assert caught.value.code is ErrorCode.IMPROV_NOT_AUTHORIZED
    assert improv_fleet[BULB].counters.authorizations_expired == 1


async def test_wrong_passphrase_is_rejected_and_the_right_one_then_succeeds(
    improv_adapter, improv_fleet, improv_web
) -> None:
    with pytest.raises(AdapterError) as caught:
        await authorize_and_provision(improv_adapter, improv_fleet, WRONG)

    assert_error(caught.value, ErrorCode.CREDENTIALS_REJECTED, retryable=False)
    assert caught.value.details["improv_error"] == "UNABLE_TO_CONNECT"
    bulb = improv_fleet[BULB]
    assert bulb.state.name == "AUTHORIZED"
    assert (await web_page(str(bulb.redirect_url))).status_code == 503

    result = await improv_adapter.provision(improv_device(BULB), LAB)

    assert result.credentials_sent is True
    assert (bulb.counters.join_failures, bulb.counters.provisions_succeeded) == (1, 1)


async def test_the_passphrase_never_appears_in_errors_or_logs(
    improv_adapter, improv_fleet, improv_web, caplog
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AdapterError) as caught:
        await authorize_and_provision(improv_adapter, improv_fleet, WRONG)
    snapshot = json.dumps(improv_fleet.snapshot(BULB))

    assert WRONG_PASSPHRASE not in str(caught.value)
    assert WRONG_PASSPHRASE not in json.dumps(caught.value.details)
    assert WRONG_PASSPHRASE not in caplog.text
    assert WRONG_PASSPHRASE.encode().hex() not in caplog.text
    assert WRONG_PASSPHRASE not in snapshot


async def test_link_dropped_mid_provision_is_retryable_and_a_retry_completes_once(
    improv_adapter, improv_fleet, improv_web
) -> None:
    await improv_fleet.set_faults(
        BULB, ImprovDeviceFaults(auto_authorize=True, drop_link_mid_provision=1)
    )

    with pytest.raises(AdapterError) as caught:
        await improv_adapter.provision(improv_device(BULB), LAB)
    assert_error(caught.value, ErrorCode.BLE_CONNECTION_LOST, retryable=True)

    result = await improv_adapter.provision(improv_device(BULB), LAB)

    assert result.redirect_url == improv_fleet[BULB].redirect_url
    assert result.credentials_sent is False
    counters = improv_fleet[BULB].counters
    assert (counters.link_drops, counters.credentials_received) == (1, 1)
    assert counters.provisions_succeeded == 1


async def test_a_device_that_joins_but_never_reports_times_out(
    ble_stack, improv_fleet, improv_web
) -> None:
    await improv_fleet.set_faults(BULB, ImprovDeviceFaults(auto_authorize=True, never_reports=True))

    with pytest.raises(AdapterError) as caught:
        await impatient_adapter(ble_stack, result=0.3).provision(improv_device(BULB), LAB)

    assert_error(caught.value, ErrorCode.NETWORK_JOIN_TIMEOUT, retryable=False)
    bulb = improv_fleet[BULB]
    assert bulb.state.name == "PROVISIONING"
    assert (await web_page(str(bulb.redirect_url))).status_code == 200


async def test_an_already_provisioned_device_is_reported_and_not_sent_credentials(
    improv_adapter, improv_fleet, improv_web
) -> None:
    await improv_fleet.set_faults(BULB, ImprovDeviceFaults(already_provisioned=True))

    detected = await improv_adapter.detect(improv_device(BULB))
    state = await improv_adapter.read_state(improv_device(BULB))
    result = await improv_adapter.provision(improv_device(BULB), LAB)

    assert detected.provisioned is True
    assert (state.provisioned, state.attributes["improv_state"]) == (True, "provisioned")
    assert state.attributes["redirect_url"] == improv_fleet[BULB].redirect_url
    assert result.credentials_sent is False
    assert improv_fleet[BULB].counters.credentials_received == 0
    assert improv_fleet[BULB].wifi.ssid == PREVIOUS_NETWORK_SSID


async def test_a_session_reports_state_and_error_notifications(
    improv_adapter, improv_fleet
) -> None:
    await improv_fleet.set_faults(BULB, ImprovDeviceFaults(auto_authorize=True))
    states: list[str] = []
    errors: list[str] = []
    authorized_again = asyncio.Event()

    def on_state(state: State) -> None:
        states.append(state.name)
        if state is State.AUTHORIZED:
            authorized_again.set()

    async with improv_adapter.session(improv_device(BULB)) as session:
        session.subscribe_state(on_state)
        session.subscribe_errors(lambda error: errors.append(error.name))
        with pytest.raises(AdapterError):
            await session.send_wifi_settings(LAB_NETWORK_SSID, WRONG_PASSPHRASE)
        await asyncio.wait_for(authorized_again.wait(), timeout=1.0)

    assert states == ["PROVISIONING", "AUTHORIZED"]
    assert errors == ["UNABLE_TO_CONNECT"]


# --- BLE failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "improv_specs",
    [[ImprovDeviceSpec(device_id=BULB, missing_characteristics=frozenset({"rpc_result"}))]],
)
async def test_a_missing_characteristic_is_reported_by_name(improv_adapter, improv_fleet) -> None:
    with pytest.raises(AdapterError) as caught:
        await improv_adapter.read_state(improv_device(BULB))

    assert_error(caught.value, ErrorCode.BLE_CHARACTERISTIC_MISSING, retryable=False)
    assert caught.value.details["missing"] == "RPC result"


async def test_a_device_that_stops_answering_gatt_times_out(ble_stack, improv_fleet) -> None:
    await improv_fleet.set_faults(BULB, ImprovDeviceFaults(gatt_unresponsive=True))

    with pytest.raises(AdapterError) as caught:
        await impatient_adapter(ble_stack, gatt=0.3).read_state(improv_device(BULB))

    assert_error(caught.value, ErrorCode.BLE_GATT_TIMEOUT, retryable=True)


async def test_each_device_records_which_gateway_talked_to_it(
    ble_radio: VirtualBleRadio, improv_adapter, improv_fleet, ble_stack
) -> None:
    async with open_ble_stack("virtual", host_name="gw2", radio=ble_radio) as other_stack:
        other = ImprovBleAdapter(other_stack, scan_timeout=SCAN_TIMEOUT, timeouts=TIMEOUTS)

        await improv_adapter.read_state(improv_device(BULB))
        await other.read_state(improv_device(PLUG))

    assert set(improv_fleet[BULB].counters.connections) == {ble_stack.address}
    assert set(improv_fleet[PLUG].counters.connections) == {other_stack.address}
