"""The simulated ESP32s' control API (`/_sim/esp`), as `make run` serves it: the knobs it
sets are the ones the device acts on, over the real BLE stack."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.ble import BleStack, VirtualBleRadio
from adapters.errors import AdapterError
from adapters.esp_prov import (
    SESSION_AUTH_FAILED,
    EspProvBleAdapter,
    EspProvTimeouts,
    EspSecurity,
    SecurityScheme,
)
from domain.device import DeviceDescriptor
from simulators.esp_prov import EspDeviceFleet, EspDeviceSpec
from simulators.esp_prov.control_http import create_esp_control_app

PLUG = "esp32-plug-den"
SECRET = "abcd1234"

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def esp_fleet(ble_radio: VirtualBleRadio) -> AsyncIterator[EspDeviceFleet]:
    spec = EspDeviceSpec(device_id=PLUG, security=SecurityScheme.SEC2, secret=SECRET)
    async with EspDeviceFleet(ble_radio, [spec]) as fleet:
        yield fleet


@pytest.fixture
async def control(
    aiohttp_client: Callable[..., Awaitable[Client]], esp_fleet: EspDeviceFleet
) -> Client:
    return await aiohttp_client(create_esp_control_app(esp_fleet))


async def test_the_list_shows_each_device_without_its_secret(control: Client) -> None:
    response = await control.get("/_sim/esp/devices")

    assert response.status == 200
    body = await response.json()
    assert [d["device_id"] for d in body["devices"]] == [PLUG]
    assert body["devices"][0]["in_range"] is True
    assert SECRET not in await response.text()


async def test_a_knob_set_over_http_is_the_one_the_device_acts_on(
    control: Client, esp_fleet: EspDeviceFleet, ble_stack: BleStack
) -> None:
    response = await control.patch(
        f"/_sim/esp/devices/{PLUG}/faults", json={"refuse_sessions": True}
    )
    assert response.status == 200
    assert (await response.json())["faults"]["refuse_sessions"] is True

    adapter = EspProvBleAdapter(
        ble_stack, scan_timeout=0.5, timeouts=EspProvTimeouts(connect=1.0, gatt=1.0)
    )
    device = DeviceDescriptor(
        device_id=PLUG,
        type="wifi-plug",
        vendor="espressif",
        capabilities=frozenset({"ble", "esp-prov", "wifi"}),
    )
    with pytest.raises(AdapterError) as caught:
        await adapter.check(device, EspSecurity.sec2("wifiprov", SECRET))

    assert caught.value.code == SESSION_AUTH_FAILED
    assert esp_fleet[PLUG].counters.session_auth_failures == 1


async def test_bad_knobs_and_unknown_devices_are_refused(control: Client) -> None:
    unknown_knob = await control.patch(f"/_sim/esp/devices/{PLUG}/faults", json={"x": True})
    not_boolean = await control.patch(
        f"/_sim/esp/devices/{PLUG}/faults", json={"never_connects": "yes"}
    )
    unknown_device = await control.get("/_sim/esp/devices/nope")

    assert (unknown_knob.status, not_boolean.status, unknown_device.status) == (422, 422, 404)


async def test_a_device_leaves_radio_range_and_a_reset_brings_it_back_as_new(
    control: Client, esp_fleet: EspDeviceFleet
) -> None:
    await control.patch(f"/_sim/esp/devices/{PLUG}/faults", json={"never_connects": True})

    away = await control.post(f"/_sim/esp/devices/{PLUG}/range", json={"in_range": False})
    assert away.status == 200
    assert PLUG not in esp_fleet
    assert (await (await control.get(f"/_sim/esp/devices/{PLUG}")).json())["in_range"] is False

    reset = await control.post(f"/_sim/esp/devices/{PLUG}/reset")

    assert reset.status == 200
    assert PLUG in esp_fleet
    assert esp_fleet[PLUG].faults.never_connects is False
    assert (await reset.json())["station"] == esp_fleet[PLUG].snapshot()["station"]
