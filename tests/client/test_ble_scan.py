"""The client's BLE scan finds Improv devices and describes them for the server."""

from __future__ import annotations

from adapters.ble import VirtualBleRadio
from client.ble_scan import improv_scanner
from simulators.improv_ble import ImprovDeviceFleet
from strategies.catalog import build_registry
from tests.ble_fixtures import BULB, PLUG, ble_radio, improv_fleet, improv_specs  # noqa: F401


async def test_a_scan_finds_every_improv_device_advertising_nearby(
    ble_radio: VirtualBleRadio,  # noqa: F811
    improv_fleet: ImprovDeviceFleet,  # noqa: F811
) -> None:
    async with improv_scanner("virtual", radio=ble_radio, site="lab") as scanner:
        found = await scanner.scan(timeout=1.5)

    assert sorted(f.descriptor.device_id for f in found) == sorted([BULB, PLUG])
    assert all(f.transport == "ble" and f.descriptor.site == "lab" for f in found)
    assert all("ble_address" in f.descriptor.transport_hints for f in found)


async def test_a_scanned_device_is_served_by_the_improv_strategy(
    ble_radio: VirtualBleRadio,  # noqa: F811
    improv_fleet: ImprovDeviceFleet,  # noqa: F811
) -> None:
    async with improv_scanner("virtual", radio=ble_radio) as scanner:
        [first, *_] = await scanner.scan(timeout=1.5)

    assert build_registry().select(first.descriptor).name == "improv-ble"
