"""Contract of `EspProvBleAdapter` over the virtual BLE link.

Every test runs the real adapter, bleak with the bumble backend, a virtual controller
per side on one `LocalLink`, and a simulated ESP32 (a bumble GATT server speaking
ESP-IDF's protocomm): real advertising, connections, service discovery, long writes
and reads, SRP6a or Curve25519 handshakes and encrypted requests. Tests assert what
the adapter returns or raises and what the device saw.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from adapters.ble import BleStack, VirtualBleRadio
from adapters.errors import AdapterError
from adapters.esp_prov import (
    BLE_ADDRESS_HINT,
    NETWORK_NOT_FOUND,
    SESSION_AUTH_FAILED,
    EspProvBleAdapter,
    EspProvisioningPort,
    EspProvTimeouts,
    EspSecurity,
    SecurityScheme,
    StationState,
)
from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from domain.requests import NetworkCredentials
from simulators.esp_prov import EspDeviceFaults, EspDeviceFleet, EspDeviceSpec, Station
from simulators.http_wifi import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID
from tests.contract.assertions import assert_error, assert_no_secret

PLUG = "esp-plug"
"""Security 2: SRP6a with username `wifiprov`, password `abcd1234`."""
LAMP = "esp-lamp"
"""Security 1: Curve25519 with proof of possession `lamp-pop-1234`."""
PASSWORD = "abcd1234"
POP = "lamp-pop-1234"

SEC2 = EspSecurity.sec2("wifiprov", PASSWORD)
SEC1 = EspSecurity.sec1(POP)
LAB = NetworkCredentials(ssid=LAB_NETWORK_SSID, passphrase=SecretStr(LAB_NETWORK_PASSPHRASE))
WRONG_PASSPHRASE = "not-the-lab-passphrase"
JOIN_TIMEOUT = 2.0


def esp_device(device_id: str = PLUG, **hints: str) -> DeviceDescriptor:
    """The descriptor a caller would send for a simulated ESP32."""
    return DeviceDescriptor(
        device_id=device_id,
        type="wifi-plug",
        vendor="espressif",
        capabilities=frozenset({"ble", "esp-prov", "wifi"}),
        transport_hints=hints,
    )


@pytest.fixture
async def esp_fleet(ble_radio: VirtualBleRadio) -> AsyncIterator[EspDeviceFleet]:
    specs = [
        EspDeviceSpec(device_id=PLUG, secret=PASSWORD, join_delay=0.05),
        EspDeviceSpec(device_id=LAMP, security=SecurityScheme.SEC1, secret=POP, join_delay=0.05),
    ]
    async with EspDeviceFleet(ble_radio, specs) as fleet:
        yield fleet


@pytest.fixture
def adapter(ble_stack: BleStack) -> EspProvisioningPort:
    """The adapter of gateway `gw1` as the activities will see it (mypy checks the port)."""
    return EspProvBleAdapter(
        ble_stack,
        scan_timeout=0.5,
        timeouts=EspProvTimeouts(connect=1.0, gatt=1.0),
        poll_every=0.05,
    )


# --- finding the device ----------------------------------------------------------------


async def test_detect_hears_the_provisioning_service_advertised_by_name(adapter, esp_fleet) -> None:
    found = await adapter.detect(esp_device(PLUG))

    assert found.attributes["ble_name"] == PLUG
    assert found.attributes["ble_address"] == esp_fleet.address_of(PLUG)


async def test_detect_finds_a_device_by_its_address_hint(adapter, esp_fleet) -> None:
    address = esp_fleet.address_of(LAMP)

    found = await adapter.detect(esp_device("label-says-lamp", **{BLE_ADDRESS_HINT: address}))

    assert found.attributes["ble_name"] == LAMP


async def test_an_absent_device_is_unreachable(adapter, esp_fleet) -> None:
    with pytest.raises(AdapterError) as caught:
        await adapter.detect(esp_device("esp-absent"))

    assert_error(caught.value, ErrorCode.DEVICE_UNREACHABLE, retryable=True)
    assert caught.value.details["reason"] == "not_advertising"


# --- version and secure session --------------------------------------------------------


async def test_the_version_endpoint_names_the_security_scheme_and_capabilities(
    adapter, esp_fleet
) -> None:
    version = await adapter.read_version(esp_device(PLUG))

    assert version.version == "v1.1"
    assert version.security is SecurityScheme.SEC2
    assert version.security_patch == 1
    assert version.capabilities == ("wifi_scan",)


async def test_the_check_opens_a_security_2_session_and_reads_the_wifi_status(
    adapter, esp_fleet
) -> None:
    check = await adapter.check(esp_device(PLUG), SEC2)

    assert check.status.state is StationState.DISCONNECTED
    assert {"prov-session", "prov-config", "proto-ver", "prov-ctrl"} <= check.endpoints
    assert esp_fleet[PLUG].counters.sessions_established == 1


async def test_a_wrong_password_fails_the_session_and_changes_nothing(
    adapter, esp_fleet, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="devprov")
    wrong = EspSecurity.sec2("wifiprov", "wrong-password")

    with pytest.raises(AdapterError) as caught:
        await adapter.provision(esp_device(PLUG), wrong, LAB, timeout=JOIN_TIMEOUT)

    assert caught.value.code == SESSION_AUTH_FAILED
    assert caught.value.retryable is False
    assert_no_secret(caught.value, "wrong-password", LAB_NETWORK_PASSPHRASE)
    device = esp_fleet[PLUG]
    assert device.counters.session_auth_failures == 1
    assert device.counters.configs_received == 0
    assert device.station is Station.IDLE
    assert "wrong-password" not in caplog.text


async def test_a_wrong_username_fails_the_session_too(adapter, esp_fleet) -> None:
    with pytest.raises(AdapterError) as caught:
        await adapter.check(esp_device(PLUG), EspSecurity.sec2("someone", PASSWORD))

    assert caught.value.code == SESSION_AUTH_FAILED


async def test_a_security_1_session_with_the_proof_of_possession(adapter, esp_fleet) -> None:
    check = await adapter.check(esp_device(LAMP), SEC1)

    assert check.version.security is SecurityScheme.SEC1
    assert check.status.state is StationState.DISCONNECTED


async def test_a_wrong_proof_of_possession_fails_the_session(adapter, esp_fleet) -> None:
    with pytest.raises(AdapterError) as caught:
        await adapter.check(esp_device(LAMP), EspSecurity.sec1("not-the-pop"))

    assert caught.value.code == SESSION_AUTH_FAILED
    assert esp_fleet[LAMP].counters.session_auth_failures == 1


async def test_a_secret_for_another_scheme_is_refused_before_any_handshake(
    adapter, esp_fleet
) -> None:
    with pytest.raises(AdapterError) as caught:
        await adapter.check(esp_device(LAMP), SEC2)

    assert caught.value.details["device_security"] == "1"
    assert esp_fleet[LAMP].counters.session_auth_failures == 0


async def test_the_device_lists_the_networks_it_hears_over_several_requests(
    adapter, esp_fleet
) -> None:
    neighbours = [f"neighbour-{n}" for n in range(4)]
    for ssid in neighbours:
        esp_fleet.networks[ssid] = "unknown"

    networks = await adapter.scan_networks(esp_device(PLUG), SEC2)

    assert sorted(n.ssid for n in networks) == sorted([LAB_NETWORK_SSID, *neighbours])
    assert [n.rssi for n in networks] == sorted((n.rssi for n in networks), reverse=True)
    assert {n.auth for n in networks} == {"wpa2_psk"}
    assert esp_fleet[PLUG].counters.scans == 1


# --- provisioning ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device_id", "security"), [(PLUG, SEC2), (LAMP, SEC1)], ids=["security 2", "security 1"]
)
async def test_provisioning_joins_the_network_and_reports_the_address(
    adapter, esp_fleet, device_id, security
) -> None:
    joined = await adapter.provision(esp_device(device_id), security, LAB, timeout=JOIN_TIMEOUT)

    device = esp_fleet[device_id]
    assert joined.ssid == LAB_NETWORK_SSID
    assert joined.address == device.ip_address
    assert device.station is Station.CONNECTED
    assert (device.counters.configs_received, device.counters.configs_applied) == (1, 1)


async def test_the_status_is_read_again_over_a_new_session(adapter, esp_fleet) -> None:
    await adapter.provision(esp_device(PLUG), SEC2, LAB, timeout=JOIN_TIMEOUT)

    status = await adapter.wifi_status(esp_device(PLUG), SEC2)

    assert status.state is StationState.CONNECTED
    assert status.ssid == LAB_NETWORK_SSID
    assert esp_fleet[PLUG].counters.sessions_established == 2


async def test_provisioning_ends_a_while_after_the_device_joined(adapter, esp_fleet) -> None:
    await esp_fleet.remove(PLUG)
    await esp_fleet.add(
        EspDeviceSpec(device_id=PLUG, secret=PASSWORD, join_delay=0.05, auto_stop_after=0.2)
    )
    await adapter.provision(esp_device(PLUG), SEC2, LAB, timeout=JOIN_TIMEOUT)

    async with asyncio.timeout(2.0):
        while not esp_fleet.peripheral(PLUG).stopped:
            await asyncio.sleep(0.05)

    with pytest.raises(AdapterError) as caught:
        await adapter.wifi_status(esp_device(PLUG), SEC2)
    assert_error(caught.value, ErrorCode.DEVICE_UNREACHABLE, retryable=True)
    assert esp_fleet[PLUG].station is Station.CONNECTED


async def test_a_wrong_passphrase_is_rejected_credentials(adapter, esp_fleet) -> None:
    wrong = NetworkCredentials(ssid=LAB_NETWORK_SSID, passphrase=SecretStr(WRONG_PASSPHRASE))

    with pytest.raises(AdapterError) as caught:
        await adapter.provision(esp_device(PLUG), SEC2, wrong, timeout=JOIN_TIMEOUT)

    assert_error(caught.value, ErrorCode.CREDENTIALS_REJECTED, retryable=False)
    assert caught.value.details["fail_reason"] == "auth_error"
    assert_no_secret(caught.value, WRONG_PASSPHRASE, PASSWORD)


async def test_the_network_refusing_the_device_is_rejected_credentials(adapter, esp_fleet) -> None:
    esp_fleet[PLUG].faults = EspDeviceFaults(wifi_auth_error=True)

    with pytest.raises(AdapterError) as caught:
        await adapter.provision(esp_device(PLUG), SEC2, LAB, timeout=JOIN_TIMEOUT)

    assert_error(caught.value, ErrorCode.CREDENTIALS_REJECTED, retryable=False)


async def test_an_unknown_network_is_network_not_found(adapter, esp_fleet) -> None:
    elsewhere = NetworkCredentials(ssid="not-here", passphrase=SecretStr(LAB_NETWORK_PASSPHRASE))

    with pytest.raises(AdapterError) as caught:
        await adapter.provision(esp_device(PLUG), SEC2, elsewhere, timeout=JOIN_TIMEOUT)

    assert caught.value.code == NETWORK_NOT_FOUND
    assert caught.value.details["fail_reason"] == "network_not_found"
    assert esp_fleet[PLUG].station is Station.FAILED


async def test_a_device_that_never_connects_is_a_join_timeout(adapter, esp_fleet) -> None:
    esp_fleet[PLUG].faults = EspDeviceFaults(never_connects=True)

    with pytest.raises(AdapterError) as caught:
        await adapter.provision(esp_device(PLUG), SEC2, LAB, timeout=0.3)

    assert_error(caught.value, ErrorCode.NETWORK_JOIN_TIMEOUT, retryable=False)
    assert caught.value.details["station_state"] == "connecting"


async def test_reset_after_a_failed_join_forgets_the_credentials(adapter, esp_fleet) -> None:
    wrong = NetworkCredentials(ssid=LAB_NETWORK_SSID, passphrase=SecretStr(WRONG_PASSPHRASE))
    with pytest.raises(AdapterError):
        await adapter.provision(esp_device(PLUG), SEC2, wrong, timeout=JOIN_TIMEOUT)

    await adapter.reset(esp_device(PLUG), SEC2)

    device = esp_fleet[PLUG]
    assert (device.station, device.ssid, device.counters.resets) == (Station.IDLE, None, 1)
    joined = await adapter.provision(esp_device(PLUG), SEC2, LAB, timeout=JOIN_TIMEOUT)
    assert joined.ssid == LAB_NETWORK_SSID


async def test_reset_of_a_joined_device_sends_it_back_to_provisioning(adapter, esp_fleet) -> None:
    await adapter.provision(esp_device(PLUG), SEC2, LAB, timeout=JOIN_TIMEOUT)
    assert esp_fleet[PLUG].station is Station.CONNECTED

    await adapter.reset(esp_device(PLUG), SEC2)

    device = esp_fleet[PLUG]
    assert (device.station, device.ssid, device.counters.resets) == (Station.IDLE, None, 1)


async def test_a_device_without_the_control_endpoint_cannot_be_reset_over_ble(
    adapter, esp_fleet
) -> None:
    await esp_fleet.remove(PLUG)
    await esp_fleet.add(
        EspDeviceSpec(device_id=PLUG, secret=PASSWORD, missing_endpoints=frozenset({"prov-ctrl"}))
    )
    check = await adapter.check(esp_device(PLUG), SEC2)
    assert "prov-ctrl" not in check.endpoints

    with pytest.raises(AdapterError) as caught:
        await adapter.reset(esp_device(PLUG), SEC2)

    assert_error(caught.value, ErrorCode.BLE_CHARACTERISTIC_MISSING, retryable=False)
    assert caught.value.details["missing"] == "prov-ctrl"


async def test_new_credentials_for_a_device_without_the_control_endpoint_are_refused_clearly(
    adapter, esp_fleet
) -> None:
    # ESP-IDF before 5.1 takes credentials once: without prov-ctrl nothing makes it
    # forget the refused ones until it restarts.
    await esp_fleet.remove(PLUG)
    await esp_fleet.add(
        EspDeviceSpec(device_id=PLUG, secret=PASSWORD, missing_endpoints=frozenset({"prov-ctrl"}))
    )
    wrong = NetworkCredentials(ssid=LAB_NETWORK_SSID, passphrase=SecretStr(WRONG_PASSPHRASE))
    with pytest.raises(AdapterError):
        await adapter.provision(esp_device(PLUG), SEC2, wrong, timeout=JOIN_TIMEOUT)

    with pytest.raises(AdapterError) as caught:
        await adapter.send_wifi_config(esp_device(PLUG), SEC2, LAB)

    assert_error(caught.value, ErrorCode.DEVICE_REJECTED_REQUEST, retryable=False)
    assert "restart it" in caught.value.message
    assert esp_fleet[PLUG].counters.configs_received == 1


async def test_the_passphrase_never_reaches_the_logs(adapter, esp_fleet, caplog) -> None:
    caplog.set_level(logging.DEBUG)

    await adapter.provision(esp_device(PLUG), SEC2, LAB, timeout=JOIN_TIMEOUT)

    assert LAB_NETWORK_PASSPHRASE not in caplog.text
    assert PASSWORD not in caplog.text
