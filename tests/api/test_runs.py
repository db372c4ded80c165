"""Starting a run and reading its status."""

from __future__ import annotations

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.api.conftest import (
    ApiClient,
    provision_body,
    run_path,
    wait_for_execution,
    wait_for_state,
)
from tests.fakes import FakeWifiDevice


async def test_start_answers_202_with_the_run_and_its_links(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    response = await api.post(run_path(device_id), json=provision_body(site))

    assert response.status == 202
    body = await response.json()
    assert body["workflow_id"] == f"provision-{device_id}"
    assert body["device_id"] == device_id
    assert body["strategy"] == "http-wifi"
    assert body["state"] == "PENDING"
    assert body["run_id"]
    assert response.headers["Location"] == run_path(device_id)
    assert body["links"] == {
        "self": run_path(device_id),
        "events": run_path(device_id, "events"),
        "ws": run_path(device_id, "ws"),
        "forget_credentials": run_path(device_id, "forget-credentials"),
        "credentials": run_path(device_id, "credentials"),
        "retry": run_path(device_id, "retry"),
        "cancel": run_path(device_id, "cancel"),
    }


async def test_started_run_carries_the_search_attributes(
    api: ApiClient, temporal_client: Client, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))

    description = await temporal_client.get_workflow_handle(f"provision-{device_id}").describe()

    attributes = {key.name: value for key, value in description.typed_search_attributes}
    assert attributes == {
        "DeviceId": device_id,
        "Strategy": "http-wifi",
        "Vendor": "shelly",
        "Site": site,
        "Tenant": "default",
        "ProvisioningState": "IN_PROGRESS",
    }
    assert description.workflow_type == "HttpWifiProvisioning"


async def test_status_shows_the_snapshot_and_execution_status_of_a_finished_run(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))

    body = await wait_for_state(api, device_id, "SUCCEEDED")

    assert body["device_id"] == device_id
    assert body["step"] == "done"
    assert body["network_ssid"] == "home-net"
    assert body["run_id"]
    assert body["links"]["events"] == run_path(device_id, "events")
    assert [e["state"] for e in body["events"]][-1] == "SUCCEEDED"
    await wait_for_execution(api, device_id, "COMPLETED")


async def test_status_of_a_device_without_run_is_404(api: ApiClient, device_id: str) -> None:
    response = await api.get(run_path(device_id))

    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "RUN_NOT_FOUND"


async def test_device_missing_capabilities_is_rejected_with_reasons_and_starts_nothing(
    api: ApiClient, temporal_client: Client, device_id: str, site: str
) -> None:
    response = await api.post(
        run_path(device_id), json=provision_body(site, capabilities=("wifi",))
    )

    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == "UNSUPPORTED_DEVICE"
    # One entry per strategy considered; other strategies lack other capabilities.
    assert {"strategy": "http-wifi", "reasons": ["missing capabilities: http-rpc"]} in problem[
        "reasons"
    ]
    with pytest.raises(RPCError) as not_found:
        await temporal_client.get_workflow_handle(f"provision-{device_id}").describe()
    assert not_found.value.status is RPCStatusCode.NOT_FOUND


async def test_unknown_strategy_override_is_rejected(
    api: ApiClient, device_id: str, site: str
) -> None:
    body = {**provision_body(site), "strategy": "carrier-pigeon"}

    response = await api.post(run_path(device_id), json=body)

    assert response.status == 422
    assert (await response.json())["code"] == "UNKNOWN_STRATEGY"


async def test_second_start_while_a_run_is_in_flight_conflicts(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    first = await api.post(run_path(device_id), json=provision_body(site, network=False))
    await wait_for_state(api, device_id, "PENDING_NETWORK")

    second = await api.post(run_path(device_id), json=provision_body(site))

    assert second.status == 409
    problem = await second.json()
    assert problem["code"] == "RUN_IN_PROGRESS"
    assert problem["run_id"] == (await first.json())["run_id"]
    assert problem["links"]["self"] == run_path(device_id)


async def test_device_can_be_provisioned_again_after_its_run_finished(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))
    await wait_for_execution(api, device_id, "COMPLETED")

    again = await api.post(run_path(device_id), json=provision_body(site))

    assert again.status == 202
