"""Fleet routes: start, aggregate progress over SSE, retry, validation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from domain.errors import ErrorCode
from tests.api.conftest import PASSPHRASE, ApiClient, read_sse
from tests.fakes import FakeWifiFleet
from worker.workers import central_worker, edge_worker


def fleet_body(site: str, device_ids: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "template": {
            "type": "wifi-relay",
            "vendor": "shelly",
            "capabilities": ["wifi", "http-rpc"],
            "site": site,
        },
        "devices": [{"device_id": d} for d in device_ids],
        "network": {"ssid": "home-net", "passphrase": PASSPHRASE},
        "limits": {"max_in_flight": 5, "per_site": 5, "per_vendor": 5},
        **extra,
    }


def fleet_path(fleet_id: str, action: str = "") -> str:
    base = f"/api/v1/fleets/{fleet_id}/provision"
    return f"{base}/{action}" if action else base


@pytest.fixture
def fleet_id() -> str:
    return f"fleet-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def devices() -> FakeWifiFleet:
    return FakeWifiFleet()


@pytest.fixture
async def fleet_workers(
    temporal_client: Client, task_queue: str, site: str, devices: FakeWifiFleet
) -> AsyncIterator[FakeWifiFleet]:
    async with (
        central_worker(temporal_client, task_queue=task_queue),
        edge_worker(temporal_client, site=site, activities=devices.activities()),
    ):
        yield devices


def device_ids(count: int) -> list[str]:
    prefix = uuid.uuid4().hex[:6]
    return [f"fd-{prefix}-{n:03d}" for n in range(count)]


async def test_fleet_streams_aggregate_progress_until_every_device_is_done(
    api: ApiClient, fleet_workers: FakeWifiFleet, site: str, fleet_id: str
) -> None:
    ids = device_ids(10)
    for n, device_id in enumerate(ids):
        fleet_workers.add(
            device_id,
            good_passphrase=PASSPHRASE,
            confirm_error=ErrorCode.NETWORK_JOIN_TIMEOUT if n == 3 else None,
        )

    started = await api.post(fleet_path(fleet_id), json=fleet_body(site, ids))
    assert started.status == 202, await started.text()
    assert (await started.json())["total"] == 10
    events = await read_sse(await api.get(fleet_path(fleet_id, "events")), within=60)

    assert [int(e.id or 0) for e in events] == sorted(int(e.id or 0) for e in events)
    final = events[-1].data
    assert final["state"] == "COMPLETED"
    assert final["counts"]["SUCCEEDED"] == 9
    assert final["counts"]["FAILED"] == 1
    assert final["failures_by_code"] == {"NETWORK_JOIN_TIMEOUT": 1}
    assert final["failures"][0]["device_id"] == ids[3]
    status = await (await api.get(fleet_path(fleet_id))).json()
    assert status["execution_status"] == "COMPLETED"
    for event in events:
        assert PASSPHRASE not in str(event.data)


async def test_retry_of_a_completed_fleet_runs_only_its_failed_devices(
    api: ApiClient, fleet_workers: FakeWifiFleet, site: str, fleet_id: str
) -> None:
    ids = device_ids(4)
    for device_id in ids:
        fleet_workers.add(device_id, good_passphrase=PASSPHRASE)
    flaky = fleet_workers.devices[ids[1]]
    flaky.confirm_error = ErrorCode.NETWORK_JOIN_TIMEOUT
    await api.post(fleet_path(fleet_id), json=fleet_body(site, ids))
    await read_sse(await api.get(fleet_path(fleet_id, "events")), within=60)
    flaky.confirm_error = None

    retried = await api.post(fleet_path(fleet_id, "retry"), json={})

    assert retried.status == 202
    assert (await retried.json())["total"] == 1
    events = await read_sse(await api.get(fleet_path(fleet_id, "events")), within=60)
    assert events[-1].data["counts"]["SUCCEEDED"] == 1
    assert len(flaky.applied) == 2
    assert all(len(fleet_workers.devices[d].applied) == 1 for d in ids if d != ids[1])


async def test_fleet_with_unsupported_devices_starts_nothing_and_lists_them(
    api: ApiClient, site: str, fleet_id: str
) -> None:
    body = fleet_body(site, device_ids(60))
    body["template"]["capabilities"] = ["wifi"]

    response = await api.post(fleet_path(fleet_id), json=body)

    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == ErrorCode.UNSUPPORTED_DEVICE
    assert len(problem["rejected"]) == 50
    assert "60 of 60 devices" in problem["detail"]
    assert (await api.get(fleet_path(fleet_id))).status == 404


async def test_fleet_with_duplicate_device_ids_is_invalid(
    api: ApiClient, site: str, fleet_id: str
) -> None:
    response = await api.post(fleet_path(fleet_id), json=fleet_body(site, ["a-1", "a-1"]))

    assert response.status == 422
    assert (await response.json())["code"] == ErrorCode.INVALID_REQUEST


async def test_fleet_of_more_than_ten_thousand_devices_is_refused(
    api: ApiClient, site: str, fleet_id: str
) -> None:
    body = fleet_body(site, [f"d{n}" for n in range(10_001)])

    response = await api.post(fleet_path(fleet_id), json=body)

    assert response.status in {413, 422}
    assert (await response.json())["code"] in {
        ErrorCode.PAYLOAD_TOO_LARGE,
        ErrorCode.INVALID_REQUEST,
    }


async def test_invalid_fleet_id_is_refused(api: ApiClient, site: str) -> None:
    response = await api.post(fleet_path("-bad"), json=fleet_body(site, ["a-1"]))

    assert response.status == 422
