"""The second channel: `DeviceWebPage` against the simulated devices' web pages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.errors import AdapterError
from adapters.improv import DeviceWebPage, WebReset
from domain.errors import ErrorCode
from simulators.improv_ble import PREVIOUS_NETWORK_SSID, ImprovDeviceFaults, ImprovDeviceFleet
from tests.ble_fixtures import BULB


@pytest.fixture
async def web_page(improv_web) -> AsyncIterator[DeviceWebPage]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield DeviceWebPage(http, timeout=1.0)


async def joined(fleet: ImprovDeviceFleet) -> str:
    await fleet.set_faults(BULB, ImprovDeviceFaults(already_provisioned=True))
    return str(fleet[BULB].redirect_url)


async def test_a_device_not_on_its_network_yet_is_pending(web_page, improv_fleet) -> None:
    with pytest.raises(AdapterError) as caught:
        await web_page.check(str(improv_fleet[BULB].redirect_url), device_id=BULB, ssid="x")

    assert (caught.value.code, caught.value.retryable) == (ErrorCode.NETWORK_JOIN_TIMEOUT, True)
    assert caught.value.details["http_status"] == "503"


async def test_a_joined_device_answers_with_its_address(web_page, improv_fleet) -> None:
    url = await joined(improv_fleet)

    join = await web_page.check(url, device_id=BULB, ssid=PREVIOUS_NETWORK_SSID)

    assert (join.ssid, join.address) == (PREVIOUS_NETWORK_SSID, improv_fleet[BULB].ip)


async def test_a_device_on_another_network_is_not_confirmed(web_page, improv_fleet) -> None:
    url = await joined(improv_fleet)

    with pytest.raises(AdapterError) as caught:
        await web_page.check(url, device_id=BULB, ssid="devprov-lab")

    assert caught.value.details["current_ssid"] == PREVIOUS_NETWORK_SSID


async def test_nothing_answering_at_all_is_pending(web_page) -> None:
    with pytest.raises(AdapterError) as caught:
        await web_page.check("http://127.0.0.1:9/nothing", device_id=BULB, ssid="x")

    assert caught.value.code is ErrorCode.NETWORK_JOIN_TIMEOUT


async def test_the_reset_offered_by_the_page_resets_the_device(web_page, improv_fleet) -> None:
    url = await joined(improv_fleet)

    assert await web_page.factory_reset(url, device_id=BULB) is WebReset.DONE

    assert improv_fleet[BULB].counters.factory_resets == 1
    assert improv_fleet[BULB].state.name == "AUTHORIZATION_REQUIRED"


async def test_a_device_whose_page_does_not_answer_is_not_reset(web_page, improv_fleet) -> None:
    assert (
        await web_page.factory_reset(str(improv_fleet[BULB].redirect_url), device_id=BULB)
        is WebReset.NO_ANSWER
    )

    assert improv_fleet[BULB].counters.factory_resets == 0
