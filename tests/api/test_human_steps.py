"""The human steps and the rollback path: credentials, cancel, retry."""

from __future__ import annotations

from temporalio.client import Client, WorkflowExecutionStatus

from domain.errors import ErrorCode
from tests.api.conftest import (
    CREDENTIALS,
    PASSPHRASE,
    ApiClient,
    provision_body,
    read_sse,
    run_path,
    wait_for_execution,
    wait_for_state,
)
from tests.fakes import FakeWifiDevice


async def test_credentials_let_a_run_pending_network_succeed_without_echoing_the_passphrase(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    bodies: list[str] = []
    start = await api.post(run_path(device_id), json=provision_body(site, network=False))
    bodies.append(await start.text())
    waiting = await wait_for_state(api, device_id, "PENDING_NETWORK")
    assert waiting["awaiting"] == ["credentials", "retry"]

    response = await api.post(run_path(device_id, "credentials"), json=CREDENTIALS)
    bodies.append(await response.text())
    assert response.status == 200
    assert (await response.json())["network_ssid"] == "home-net"

    async with api.get(run_path(device_id, "events")) as stream:
        bodies.append(await stream.text())
    status = await api.get(run_path(device_id))
    bodies.append(await status.text())
    assert (await status.json())["state"] == "SUCCEEDED"
    assert workers.applied == ["home-net"]
    assert not [body for body in bodies if PASSPHRASE in body]


async def test_invalid_credentials_are_rejected_without_echoing_them(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site, network=False))
    await wait_for_state(api, device_id, "PENDING_NETWORK")

    response = await api.post(
        run_path(device_id, "credentials"), json={"ssid": "home-net", "passphrase": "Zq9#"}
    )

    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == "INVALID_REQUEST"
    assert [e["loc"] for e in problem["errors"]] == [["passphrase"]]
    assert "Zq9#" not in await response.text()


async def test_credentials_for_a_finished_run_conflict(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))
    await wait_for_execution(api, device_id, "COMPLETED")

    response = await api.post(run_path(device_id, "credentials"), json=CREDENTIALS)

    assert response.status == 409
    assert (await response.json())["code"] == "RUN_ALREADY_FINISHED"


async def test_credentials_while_the_run_is_confirming_are_refused(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.block_confirm = True
    await api.post(run_path(device_id), json=provision_body(site))
    await wait_for_state(api, device_id, "CONFIRMING")

    response = await api.post(run_path(device_id, "credentials"), json=CREDENTIALS)

    assert response.status == 409
    assert (await response.json())["code"] == "RUN_NOT_WAITING"
    workers.block_confirm = False


async def test_credentials_for_a_device_without_run_are_404(api: ApiClient, device_id: str) -> None:
    response = await api.post(run_path(device_id, "credentials"), json=CREDENTIALS)

    assert response.status == 404
    assert (await response.json())["code"] == "RUN_NOT_FOUND"


async def test_cancel_while_pending_network_ends_the_run_cancelled(
    api: ApiClient,
    workers: FakeWifiDevice,
    temporal_client: Client,
    device_id: str,
    site: str,
) -> None:
    await api.post(run_path(device_id), json=provision_body(site, network=False))
    await wait_for_state(api, device_id, "PENDING_NETWORK")

    response = await api.post(run_path(device_id, "cancel"))

    assert response.status == 202
    assert (await response.json())["device_id"] == device_id
    final = await wait_for_state(api, device_id, "CANCELLED")
    assert final["error_code"] == "CANCELLED_BY_USER"
    description = await temporal_client.get_workflow_handle(f"provision-{device_id}").describe()
    assert description.status is WorkflowExecutionStatus.CANCELED
    assert workers.resets == 0


async def test_cancel_after_the_device_was_changed_rolls_it_back(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.block_confirm = True
    await api.post(run_path(device_id), json=provision_body(site))
    await wait_for_state(api, device_id, "CONFIRMING")

    await api.post(run_path(device_id, "cancel"))

    final = await wait_for_state(api, device_id, "ROLLED_BACK")
    assert final["error_code"] == "CANCELLED_BY_USER"
    assert workers.resets == 1


async def test_cancel_of_a_finished_run_conflicts(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))
    await wait_for_execution(api, device_id, "COMPLETED")

    response = await api.post(run_path(device_id, "cancel"))

    assert response.status == 409
    assert (await response.json())["code"] == "RUN_ALREADY_FINISHED"


async def test_failed_confirmation_rolls_the_device_back(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.confirm_error = ErrorCode.NETWORK_JOIN_TIMEOUT
    await api.post(run_path(device_id), json=provision_body(site))

    async with api.get(run_path(device_id, "events")) as stream:
        events = await read_sse(stream)

    assert [e.data["state"] for e in events][-2:] == ["ROLLING_BACK", "ROLLED_BACK"]
    assert events[-1].data["error_code"] == "NETWORK_JOIN_TIMEOUT"
    assert workers.resets == 1


async def test_retry_of_a_failed_run_starts_a_new_run_that_can_succeed(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.confirm_error = ErrorCode.NETWORK_JOIN_TIMEOUT
    first = await (await api.post(run_path(device_id), json=provision_body(site))).json()
    await wait_for_execution(api, device_id, "FAILED")
    workers.confirm_error = None

    response = await api.post(run_path(device_id, "retry"))

    assert response.status == 202
    retried = await response.json()
    assert retried["run_id"] != first["run_id"]
    assert retried["strategy"] == "http-wifi"
    assert response.headers["Location"] == run_path(device_id)
    final = await wait_for_state(api, device_id, "SUCCEEDED")
    assert final["run_id"] == retried["run_id"]
    assert final["network_ssid"] == "home-net"


async def test_retry_of_a_waiting_run_starts_over_within_it(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    started = await (
        await api.post(run_path(device_id), json=provision_body(site, network=False))
    ).json()
    await wait_for_state(api, device_id, "PENDING_NETWORK")

    response = await api.post(run_path(device_id, "retry"))

    assert response.status == 200
    assert (await response.json())["attempt"] == 2
    waiting = await wait_for_state(api, device_id, "PENDING_NETWORK")
    assert waiting["run_id"] == started["run_id"]
    assert waiting["attempt"] == 2


async def test_retry_of_a_busy_run_is_refused(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.block_confirm = True
    await api.post(run_path(device_id), json=provision_body(site))
    await wait_for_state(api, device_id, "CONFIRMING")

    response = await api.post(run_path(device_id, "retry"))

    assert response.status == 409
    assert (await response.json())["code"] == "RUN_NOT_WAITING"
    workers.block_confirm = False


async def test_retry_of_a_succeeded_run_conflicts(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))
    await wait_for_execution(api, device_id, "COMPLETED")

    response = await api.post(run_path(device_id, "retry"))

    assert response.status == 409
    assert (await response.json())["code"] == "RUN_ALREADY_FINISHED"


async def test_forgotten_credentials_are_asked_for_again_before_the_device_is_changed(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.absent_detections = 1_000
    await api.post(run_path(device_id), json=provision_body(site, network=True))
    await wait_for_state(api, device_id, "WAITING_FOR_DEVICE")

    response = await api.post(run_path(device_id, "forget-credentials"))

    assert response.status == 200
    assert (await response.json())["network_ssid"] is None
    workers.absent_detections = workers.detections  # the device shows up now
    waiting = await wait_for_state(api, device_id, "PENDING_NETWORK")
    assert waiting["awaiting"] == ["credentials", "retry"]
    assert workers.applied == []
    await api.post(run_path(device_id, "credentials"), json={**CREDENTIALS, "ssid": "other-net"})
    await wait_for_state(api, device_id, "SUCCEEDED")
    assert workers.applied == ["other-net"]


async def test_credentials_cannot_be_forgotten_once_the_run_has_ended(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))
    await wait_for_execution(api, device_id, "COMPLETED")

    response = await api.post(run_path(device_id, "forget-credentials"))

    assert response.status == 409
    assert (await response.json())["code"] == "RUN_ALREADY_FINISHED"
