"""The provisioning coordinator driving real runs through the API."""

from __future__ import annotations

import asyncio

from client import (
    CredentialsRequest,
    DevprovClient,
    GivenCredentials,
    PromptCredentials,
    ProvisioningCoordinator,
)
from domain.requests import NetworkCredentials
from simulators.http_wifi import SimulatedWifiDevice
from simulators.http_wifi.device import DeviceFaults
from tests.client.conftest import RecordingView, descriptor
from tests.client.proxy import SeverableProxy
from tests.integration.conftest import NETWORK

GOOD = NetworkCredentials.model_validate(NETWORK)


async def test_a_device_is_provisioned_with_every_state_shown_once_in_order(
    sdk: DevprovClient, device: SimulatedWifiDevice, site: str
) -> None:
    view = RecordingView()
    coordinator = ProvisioningCoordinator(sdk, view, GivenCredentials(GOOD))

    outcome = await coordinator.provision(descriptor(device, site), network=GOOD)

    assert outcome.succeeded
    assert [m.strategy for m in view.matches] == ["http-wifi"]
    assert view.states()[0] == "PENDING"
    assert view.states()[-1] == "SUCCEEDED"
    assert {"DETECTING", "PRE_CHECK", "PROVISIONING", "CONFIRMING"} <= set(view.states())
    sequences = [event.sequence for event in view.events]
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    assert device.sta.ssid == "devprov-lab"


async def test_a_run_pending_network_is_answered_from_the_credentials_source(
    sdk: DevprovClient, device: SimulatedWifiDevice, site: str
) -> None:
    asked: list[CredentialsRequest] = []

    async def person(request: CredentialsRequest) -> NetworkCredentials:
        asked.append(request)
        return GOOD

    view = RecordingView()
    coordinator = ProvisioningCoordinator(sdk, view, PromptCredentials(person))

    outcome = await coordinator.provision(descriptor(device, site))

    assert outcome.succeeded
    assert "PENDING_NETWORK" in view.states()
    assert [request.rejected for request in asked] == [None]
    assert device.counters.wifi_config_writes == 1


async def test_rejected_credentials_are_asked_for_again_with_the_reason(
    sdk: DevprovClient, device: SimulatedWifiDevice, site: str
) -> None:
    device.faults = DeviceFaults(wrong_passphrase=True)
    asked: list[CredentialsRequest] = []

    async def person(request: CredentialsRequest) -> NetworkCredentials:
        asked.append(request)
        if request.rejected is not None:
            device.faults = DeviceFaults()  # the person types the right passphrase now
        return GOOD

    view = RecordingView()
    coordinator = ProvisioningCoordinator(sdk, view, PromptCredentials(person))

    outcome = await coordinator.provision(descriptor(device, site))

    assert outcome.succeeded
    assert len(asked) == 2
    assert asked[0].rejected is None
    assert asked[1].rejected is not None
    states = view.states()
    entered = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
    assert entered.count("PENDING_NETWORK") == 2


async def test_a_dropped_event_stream_resumes_without_a_lost_or_repeated_state(
    sdk: DevprovClient, proxy: SeverableProxy, device: SimulatedWifiDevice, site: str
) -> None:
    device.join_delay = 1.5  # long enough to cut the stream while the run confirms
    view = RecordingView()

    async def cut_while_confirming() -> None:
        while "CONFIRMING" not in view.states():
            await asyncio.sleep(0.05)
        proxy.sever()

    cutter = asyncio.create_task(cut_while_confirming())
    coordinator = ProvisioningCoordinator(sdk, view, GivenCredentials(GOOD))
    outcome = await coordinator.provision(descriptor(device, site), network=GOOD)
    await cutter

    assert outcome.succeeded
    assert view.resumed, "the stream was never cut and resumed"
    status = await sdk.get_run(device.device_id)
    assert [(e.sequence, e.state) for e in view.events] == [
        (e.sequence, e.state) for e in status.events
    ]


async def test_cancel_rolls_the_device_back(
    sdk: DevprovClient, device: SimulatedWifiDevice, site: str
) -> None:
    device.join_delay = 30.0
    view = RecordingView()
    coordinator = ProvisioningCoordinator(sdk, view, GivenCredentials(GOOD))

    async def cancel_once_provisioned() -> None:
        while "CONFIRMING" not in view.states():
            await asyncio.sleep(0.05)
        await coordinator.cancel(device.device_id)

    canceller = asyncio.create_task(cancel_once_provisioned())
    outcome = await coordinator.provision(descriptor(device, site), network=GOOD)
    await canceller

    assert outcome.state.value == "ROLLED_BACK"
    assert outcome.error_code is not None
    assert outcome.error_code == "CANCELLED_BY_USER"
    assert "ROLLING_BACK" in view.states()
    assert device.counters.factory_resets >= 1
    assert view.outcomes == []  # a cancelled run is not offered a retry


async def test_a_failed_run_is_retried_when_the_person_accepts(
    sdk: DevprovClient, device: SimulatedWifiDevice, site: str
) -> None:
    device.faults = DeviceFaults(never_joins=True)
    view = RecordingView(retries=[True])

    async def fix_device_when_asked() -> None:
        while not view.outcomes:
            await asyncio.sleep(0.05)
        device.faults = DeviceFaults()

    fixer = asyncio.create_task(fix_device_when_asked())
    coordinator = ProvisioningCoordinator(sdk, view, GivenCredentials(GOOD))
    outcome = await coordinator.provision(descriptor(device, site), network=GOOD)
    await fixer

    assert [o.state.value for o in view.outcomes] == ["ROLLED_BACK"]
    assert outcome.succeeded
    assert outcome.runs == 2
    assert len(view.runs) == 2
