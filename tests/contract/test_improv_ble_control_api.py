"""The `/_sim/ble` control API of the simulated Improv devices, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from simulators.improv_ble import ImprovDeviceFleet, RunningImprovControl
from tests.ble_fixtures import BULB, PLUG


@pytest.fixture
async def control(improv_web: RunningImprovControl) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=improv_web.base_url, trust_env=False) as http:
        yield http


async def test_listing_shows_every_device_and_the_networks(control) -> None:
    body = (await control.get("/_sim/ble/devices")).json()

    assert [device["device_id"] for device in body["devices"]] == [BULB, PLUG]
    assert body["networks"] == [{"ssid": "devprov-lab", "open": False}]
    assert "correct-horse-battery" not in str(body)


async def test_pressing_the_button_authorizes_the_device(control, improv_fleet) -> None:
    response = await control.post(f"/_sim/ble/devices/{BULB}/button")

    assert response.status_code == 200
    assert response.json()["accepted"] is True
    assert response.json()["state"] == "authorized"
    assert improv_fleet[BULB].counters.button_presses == 1


async def test_faults_are_set_knob_by_knob(control) -> None:
    await control.patch(f"/_sim/ble/devices/{BULB}/faults", json={"never_authorizes": True})
    response = await control.patch(
        f"/_sim/ble/devices/{BULB}/faults", json={"drop_link_mid_provision": 2}
    )

    faults = response.json()["faults"]
    assert (faults["never_authorizes"], faults["drop_link_mid_provision"]) == (True, 2)


async def test_invalid_faults_are_refused(control) -> None:
    response = await control.patch(
        f"/_sim/ble/devices/{BULB}/faults", json={"drop_link_mid_provision": -1}
    )

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_body"


async def test_reset_restores_the_initial_state(control, improv_fleet: ImprovDeviceFleet) -> None:
    await control.post(f"/_sim/ble/devices/{BULB}/button")

    body = (await control.post(f"/_sim/ble/devices/{BULB}/reset")).json()

    assert body["state"] == "authorization_required"
    assert body["counters"]["button_presses"] == 0


async def test_the_web_page_answers_only_once_the_device_joined(control, improv_fleet) -> None:
    before = await control.get(f"/_sim/ble/devices/{BULB}/http")
    await control.patch(f"/_sim/ble/devices/{BULB}/faults", json={"already_provisioned": True})
    after = await control.get(f"/_sim/ble/devices/{BULB}/http")

    assert before.status_code == 503
    assert after.status_code == 200
    assert after.json()["device_id"] == BULB


async def test_the_web_page_reset_forgets_the_network(control, improv_fleet) -> None:
    await control.patch(f"/_sim/ble/devices/{BULB}/faults", json={"already_provisioned": True})
    page = (await control.get(f"/_sim/ble/devices/{BULB}/http")).json()

    response = await control.post(page["reset_url"])

    assert response.json()["state"] == "authorization_required"
    assert improv_fleet[BULB].counters.factory_resets == 1


async def test_an_unknown_device_is_404(control) -> None:
    response = await control.post("/_sim/ble/devices/nope/button")

    assert response.status_code == 404
    assert response.json()["error"] == "device_not_found"
