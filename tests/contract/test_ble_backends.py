"""Choosing and opening a gateway's BLE backend (`DEVPROV_BLE_BACKEND`)."""

from __future__ import annotations

import socket

import pytest

from adapters.ble import (
    BleBackendKind,
    BleBackendSpec,
    UnknownBleBackend,
    VirtualBleRadio,
    open_ble_stack,
    parse_ble_backend,
)
from adapters.errors import AdapterError
from adapters.improv import ImprovBleAdapter
from config.settings import BleSettings, EdgeSettings, Settings
from domain.errors import ErrorCode
from simulators.improv_ble import ImprovDeviceFleet
from tests.ble_fixtures import BULB, SCAN_TIMEOUT, TIMEOUTS, improv_device
from worker.capabilities import EdgeContext, SimulatedWorld
from worker.capabilities.improv_ble import improv_ble_capability


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("virtual", BleBackendSpec(BleBackendKind.VIRTUAL)),
        ("bluez", BleBackendSpec(BleBackendKind.BLUEZ)),
        ("bluez:hci1", BleBackendSpec(BleBackendKind.BLUEZ, "hci1")),
        ("bumble-hci:usb:0", BleBackendSpec(BleBackendKind.BUMBLE_HCI, "usb:0")),
        (
            "bumble-hci:serial:/dev/ttyUSB0,1000000",
            BleBackendSpec(BleBackendKind.BUMBLE_HCI, "serial:/dev/ttyUSB0,1000000"),
        ),
    ],
)
def test_backend_settings_are_parsed(setting: str, expected: BleBackendSpec) -> None:
    spec = parse_ble_backend(setting)

    assert spec == expected
    assert str(spec) == setting


@pytest.mark.parametrize("setting", ["", "bluetooth", "usb:0", "virtual:gw1", "bumble-hci"])
def test_an_unknown_backend_setting_is_refused_with_the_valid_forms(setting: str) -> None:
    with pytest.raises(UnknownBleBackend) as caught:
        parse_ble_backend(setting)

    assert "bumble-hci" in str(caught.value)


async def test_the_virtual_backend_needs_the_process_radio() -> None:
    with pytest.raises(AdapterError) as caught:
        async with open_ble_stack("virtual", host_name="gw1"):
            pass

    assert caught.value.code is ErrorCode.BLE_RADIO_UNAVAILABLE


async def test_an_hci_transport_that_does_not_open_makes_the_radio_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(AdapterError) as caught:
        async with open_ble_stack(
            f"bumble-hci:tcp-client:127.0.0.1:{closed_port}", host_name="gw1"
        ):
            pass

    assert caught.value.code is ErrorCode.BLE_RADIO_UNAVAILABLE
    assert "tcp-client" in caught.value.message


async def test_the_bluez_backend_is_bleaks_own_with_the_chosen_adapter() -> None:
    async with open_ble_stack("bluez:hci1", host_name="gw1") as stack:
        assert stack.spec == BleBackendSpec(BleBackendKind.BLUEZ, "hci1")
        assert stack.address is None


async def test_the_bumble_hci_backend_onboards_through_an_hci_controller(
    ble_radio: VirtualBleRadio, improv_fleet: ImprovDeviceFleet
) -> None:
    controller = await ble_radio.serve_hci("dongle")
    async with open_ble_stack(f"bumble-hci:{controller.transport}", host_name="gw9") as stack:
        adapter = ImprovBleAdapter(stack, scan_timeout=SCAN_TIMEOUT, timeouts=TIMEOUTS)

        state = await adapter.read_state(improv_device(BULB))

    assert state.attributes["improv_state"] == "authorization_required"
    assert set(improv_fleet[BULB].counters.connections) == {stack.address}


async def test_a_gateway_with_the_virtual_backend_but_no_simulated_devices_still_starts(
    tmp_path, caplog
) -> None:
    context = EdgeContext(
        settings=Settings(edge=EdgeSettings.defaults(capabilities=("improv-ble",))),
        site="lab",
        host="gw1",
        data_dir=tmp_path,
        world=SimulatedWorld(),
    )

    async with improv_ble_capability(context) as activities:
        assert len(activities) == 6

    assert "will hear nothing" in caplog.text


async def test_an_unknown_backend_stops_the_gateway_at_start(tmp_path) -> None:
    context = EdgeContext(
        settings=Settings(ble=BleSettings.defaults(backend="bluetooth-classic")),
        site="lab",
        host="gw1",
        data_dir=tmp_path,
        world=SimulatedWorld(),
    )

    with pytest.raises(UnknownBleBackend):
        async with improv_ble_capability(context):
            pass
