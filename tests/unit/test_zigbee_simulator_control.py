"""The `/_sim/zigbee` control API of the simulated Zigbee devices."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from simulators.zigbee import (
    NetworkMembership,
    SimulatedStick,
    ZigbeeDeviceFleet,
    create_control_app,
    default_fleet,
    format_install_code,
)

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]
Client = TestClient[Any, Any]
DEVICES = "/_sim/zigbee/devices"


@pytest.fixture
def fleet() -> ZigbeeDeviceFleet:
    return default_fleet()


@pytest.fixture
def stick() -> SimulatedStick:
    return SimulatedStick()


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, fleet: ZigbeeDeviceFleet, stick: SimulatedStick
) -> Client:
    return await aiohttp_client(create_control_app(fleet, [stick]))


def install_codes(fleet: ZigbeeDeviceFleet) -> list[str]:
    return [d.install_code.hex() for d in fleet.devices] + [
        format_install_code(d.install_code) for d in fleet.devices
    ]


async def test_devices_are_listed_with_their_install_codes_masked(
    client: Client, fleet: ZigbeeDeviceFleet
) -> None:
    response = await client.get(DEVICES)

    body = await response.json()
    assert [d["device_id"] for d in body["devices"]] == [
        "zb-bulb-living",
        "zb-plug-office",
        "zb-motion-hall",
    ]
    assert all(d["install_code"].startswith("**********") for d in body["devices"])
    text = (await response.text()).lower()
    assert not any(code.lower() in text for code in install_codes(fleet))


async def test_a_new_device_shows_its_generated_install_code_once(
    client: Client, fleet: ZigbeeDeviceFleet
) -> None:
    created = await client.post(
        DEVICES,
        json={"device_id": "zb-new", "ieee": "00124b0099000001", "product": "color_bulb"},
    )

    assert created.status == 201
    body = await created.json()
    assert body["ieee"] == "00:12:4b:00:99:00:00:01"
    assert body["label"]["install_code"] == format_install_code(fleet["zb-new"].install_code)
    again = await (await client.get(f"{DEVICES}/zb-new")).json()
    assert "label" not in again
    assert fleet["zb-new"].pairing


async def test_a_device_with_a_bad_install_code_is_refused_without_echoing_it(
    client: Client,
) -> None:
    bad = "00112233445566778899AABBCCDDEEFF0000"

    response = await client.post(
        DEVICES, json={"device_id": "zb-bad", "ieee": "00124b0099000002", "install_code": bad}
    )

    assert response.status == 422
    assert bad.lower() not in (await response.text()).lower()


async def test_duplicate_and_unknown_devices(client: Client) -> None:
    duplicate = await client.post(
        DEVICES, json={"device_id": "zb-plug-office", "ieee": "00124b0099000003"}
    )
    unknown = await client.get(f"{DEVICES}/nope")

    assert (duplicate.status, unknown.status) == (409, 404)
    assert (await unknown.json())["error"] == "device_not_found"


async def test_faults_are_set_and_validated(client: Client, fleet: ZigbeeDeviceFleet) -> None:
    changed = await client.patch(
        f"{DEVICES}/zb-bulb-living/faults", json={"never_joins": True, "interview_failures": 2}
    )
    refused = await client.patch(
        f"{DEVICES}/zb-bulb-living/faults", json={"interview_failures": -1}
    )

    assert changed.status == 200
    assert (await changed.json())["faults"]["interview_failures"] == 2
    assert fleet["zb-bulb-living"].faults.never_joins
    assert refused.status == 422


async def test_power_off_pairing_and_leaving(client: Client, fleet: ZigbeeDeviceFleet) -> None:
    bulb = fleet["zb-bulb-living"]

    off = await (await client.post(f"{DEVICES}/zb-bulb-living/power-off")).json()
    assert off["pairing"] is False
    on = await (await client.post(f"{DEVICES}/zb-bulb-living/pairing")).json()
    assert on["pairing"] is True

    bulb.join(NetworkMembership("dd:dd:dd:dd:dd:dd:dd:dd", 0x1234, "00:12:4b:00:1c:d0:00:01"))
    left = await (await client.post(f"{DEVICES}/zb-bulb-living/leave")).json()
    assert left["network"] is None
    assert left["counters"]["leaves"] == 1


async def test_reset_restores_a_pairing_device_without_faults(
    client: Client, fleet: ZigbeeDeviceFleet
) -> None:
    await client.patch(f"{DEVICES}/zb-plug-office/faults", json={"never_joins": True})

    reset = await (await client.post(f"{DEVICES}/zb-plug-office/reset")).json()

    assert reset["pairing"] is True
    assert reset["faults"]["never_joins"] is False
    everything = await client.post("/_sim/zigbee/reset")
    assert everything.status == 200


async def test_coordinators_are_listed_without_keys(client: Client, stick: SimulatedStick) -> None:
    body = await (await client.get("/_sim/zigbee/coordinators")).json()

    assert body["coordinators"] == [
        {
            "ieee": stick.ieee,
            "connected": False,
            "formed": False,
            "channel": None,
            "pan_id": None,
            "extended_pan_id": None,
            "permit_open": False,
            "install_keys": 0,
            "counters": stick.counters.as_dict(),
        }
    ]


async def test_removed_device_is_gone(client: Client, fleet: ZigbeeDeviceFleet) -> None:
    removed = await client.delete(f"{DEVICES}/zb-motion-hall")

    assert removed.status == 204
    assert "zb-motion-hall" not in fleet
