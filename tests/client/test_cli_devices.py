"""`devprov devices list|show` and the SDK's device calls, against the real pipeline
whose runs write the registry the API reads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from client import DeviceNotFound, DevprovClient
from domain.registry import DeviceState
from domain.requests import ProvisionRequest
from simulators.http_wifi import SimulatedWifiDevice
from tests.client.proxy import SeverableProxy, severable_proxy
from tests.client.test_cli_provisioning import devprov
from tests.integration.conftest import (  # noqa: F401  (the pipeline's fixtures)
    ApiClient,
    device,
    registered_pipeline,
    request_body,
    simulator,
)


@pytest.fixture
async def registered_proxy(
    registered_pipeline: ApiClient,  # noqa: F811
) -> AsyncIterator[SeverableProxy]:
    port = registered_pipeline.server.port
    assert port is not None
    async with severable_proxy(port) as running:
        yield running


@pytest.fixture
async def in_service(
    registered_proxy: SeverableProxy,
    device: SimulatedWifiDevice,  # noqa: F811
    site: str,
) -> SimulatedWifiDevice:
    """The device, provisioned through the SDK."""
    body = request_body(site)
    body["device"] = {**body["device"], "device_id": device.device_id}  # type: ignore[dict-item]
    async with DevprovClient(registered_proxy.url) as sdk:
        await sdk.start_provisioning(ProvisionRequest.model_validate(body))
        async for _ in sdk.events(device.device_id):
            pass
    return device


async def test_the_sdk_reads_the_record_its_run_wrote(
    registered_proxy: SeverableProxy, in_service: SimulatedWifiDevice, site: str
) -> None:
    async with DevprovClient(registered_proxy.url) as sdk:
        shown = await sdk.get_device(in_service.device_id)
        listed = [d.device_id async for d in sdk.all_devices(site=site, limit=1)]
        with pytest.raises(DeviceNotFound):
            await sdk.get_device("never-seen-device")

    assert (shown.state, shown.network_ssid) == (DeviceState.IN_SERVICE, in_service.sta.ssid)
    assert listed == [in_service.device_id]


async def test_devices_list_and_show_print_the_registry(
    registered_proxy: SeverableProxy, in_service: SimulatedWifiDevice, site: str
) -> None:
    listed = await devprov(
        registered_proxy, "devices", "list", "--site", site, "--state", "IN_SERVICE", "--json"
    )
    shown = await devprov(registered_proxy, "devices", "show", in_service.device_id)

    assert listed.code == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert json.loads(line)["device_id"] == in_service.device_id
    assert shown.code == 0, shown.stderr
    assert "IN_SERVICE" in shown.stderr
    assert in_service.sta_ip in shown.stderr


async def test_devices_decommission_follows_the_run_until_the_device_is_out_of_service(
    registered_proxy: SeverableProxy, in_service: SimulatedWifiDevice
) -> None:
    taken = await devprov(
        registered_proxy, "devices", "decommission", in_service.device_id, "--follow"
    )
    again = await devprov(registered_proxy, "devices", "decommission", in_service.device_id)

    assert taken.code == 0, taken.stderr
    assert "SUCCEEDED" in taken.stderr
    assert "factory reset over the local HTTP API" in taken.stderr
    assert in_service.in_setup_mode
    assert again.code == 3
    assert "DEVICE_NOT_IN_SERVICE" in again.stderr
    async with DevprovClient(registered_proxy.url) as sdk:
        record = await sdk.get_device(in_service.device_id)
        status = await sdk.get_decommission(in_service.device_id)
    assert record.state is DeviceState.DECOMMISSIONED
    assert (status.state.value, status.execution_status) == ("SUCCEEDED", "COMPLETED")
