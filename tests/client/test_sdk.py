"""The SDK's calls and typed errors against the real API."""

from __future__ import annotations

import asyncio

import pytest

from client import DevprovClient, RunConflict, RunNotFound, UnsupportedDevice
from client.errors import ApiUnreachable, InvalidRequest
from domain.device import DeviceDescriptor
from domain.requests import NetworkCredentials, ProvisionRequest
from domain.states import ProvisioningState
from simulators.http_wifi import SimulatedWifiDevice
from tests.client.conftest import descriptor
from tests.integration.conftest import NETWORK


async def test_a_started_run_is_followed_to_success_through_its_events(
    sdk: DevprovClient, device: SimulatedWifiDevice, site: str
) -> None:
    request = ProvisionRequest(
        device=descriptor(device, site), network=NetworkCredentials.model_validate(NETWORK)
    )

    started = await sdk.start_provisioning(request)
    states = [event.state async for event in sdk.events(device.device_id)]

    assert started.workflow_id == f"provision-{device.device_id}"
    assert states[-1] is ProvisioningState.SUCCEEDED
    status = await sdk.get_run(device.device_id)
    assert status.execution_status == "COMPLETED"
    assert status.network_ssid == "devprov-lab"


async def test_an_unsupported_device_raises_with_every_strategys_reasons(
    sdk: DevprovClient,
) -> None:
    toaster = DeviceDescriptor(device_id="toaster-1", type="toaster", vendor="acme")

    with pytest.raises(UnsupportedDevice) as raised:
        await sdk.match_strategy(toaster)

    assert raised.value.status == 422
    assert {"http-wifi", "zigbee"} <= {reason.strategy for reason in raised.value.reasons}


async def test_a_device_without_a_run_raises_run_not_found(sdk: DevprovClient) -> None:
    with pytest.raises(RunNotFound) as raised:
        await sdk.get_run("never-seen-device")

    assert raised.value.code == "RUN_NOT_FOUND"


async def test_acting_on_a_finished_run_raises_a_conflict(
    sdk: DevprovClient, device: SimulatedWifiDevice, site: str
) -> None:
    network = NetworkCredentials.model_validate(NETWORK)
    await sdk.start_provisioning(ProvisionRequest(device=descriptor(device, site), network=network))
    [_ async for _ in sdk.events(device.device_id)]

    with pytest.raises(RunConflict) as raised:
        await sdk.submit_credentials(device.device_id, network)

    assert raised.value.code == "RUN_ALREADY_FINISHED"


async def test_a_second_start_while_a_run_is_in_flight_is_a_conflict(
    sdk: DevprovClient, device: SimulatedWifiDevice, site: str
) -> None:
    request = ProvisionRequest(device=descriptor(device, site))  # waits for credentials
    await sdk.start_provisioning(request)

    with pytest.raises(RunConflict) as raised:
        await sdk.start_provisioning(request)

    assert raised.value.code == "RUN_IN_PROGRESS"
    await sdk.cancel(device.device_id)


async def test_runs_are_listed_by_device(
    sdk: DevprovClient, device: SimulatedWifiDevice, site: str
) -> None:
    await sdk.start_provisioning(ProvisionRequest(device=descriptor(device, site)))

    listed = await sdk.list_runs(device_id=device.device_id)
    for _ in range(50):  # visibility is eventually consistent
        if listed.runs:
            break
        await asyncio.sleep(0.1)
        listed = await sdk.list_runs(device_id=device.device_id)

    assert [run.device_id for run in listed.runs] == [device.device_id]
    await sdk.cancel(device.device_id)


async def test_an_invalid_filter_is_refused_with_invalid_request(sdk: DevprovClient) -> None:
    with pytest.raises(InvalidRequest):
        await sdk.list_runs(limit=0)


async def test_an_unreachable_api_raises_api_unreachable() -> None:
    async with DevprovClient("http://127.0.0.1:9") as sdk:
        with pytest.raises(ApiUnreachable):
            await sdk.list_strategies()
        assert await sdk.ready() is False
