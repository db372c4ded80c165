"""Fleet routes: start, aggregate progress over SSE, retry, validation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from client import DevprovClient
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


async def ended_fleet_with_one_failed_device(
    api: ApiClient, fleet: FakeWifiFleet, site: str, fleet_id: str, count: int
) -> list[str]:
    """Run a fleet of `count` devices to its end with the second one failed (its join
    timed out); that device would join now. Returns the fleet's device ids."""
    ids = device_ids(count)
    for device_id in ids:
        fleet.add(device_id, good_passphrase=PASSPHRASE)
    flaky = fleet.devices[ids[1]]
    flaky.confirm_error = ErrorCode.NETWORK_JOIN_TIMEOUT
    await api.post(fleet_path(fleet_id), json=fleet_body(site, ids))
    await read_sse(await api.get(fleet_path(fleet_id, "events")), within=60)
    flaky.confirm_error = None
    return ids


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
    ids = await ended_fleet_with_one_failed_device(api, fleet_workers, site, fleet_id, 4)
    flaky = fleet_workers.devices[ids[1]]

    retried = await api.post(fleet_path(fleet_id, "retry"), json={})

    assert retried.status == 202
    assert (await retried.json())["total"] == 1
    events = await read_sse(await api.get(fleet_path(fleet_id, "events")), within=60)
    assert events[-1].data["counts"]["SUCCEEDED"] == 1
    assert len(flaky.applied) == 2
    assert all(len(fleet_workers.devices[d].applied) == 1 for d in ids if d != ids[1])


async def test_two_retries_of_an_ended_fleet_at_once_start_one_run(
    api: ApiClient, fleet_workers: FakeWifiFleet, site: str, fleet_id: str
) -> None:
    ids = await ended_fleet_with_one_failed_device(api, fleet_workers, site, fleet_id, 2)
    flaky = fleet_workers.devices[ids[1]]

    answers = await asyncio.gather(
        api.post(fleet_path(fleet_id, "retry"), json={}),
        api.post(fleet_path(fleet_id, "retry"), json={}),
    )

    started = [a for a in answers if a.status == 202]
    others = [(a.status, (await a.json()).get("code")) for a in answers if a.status != 202]
    assert len(started) == 1
    # The second meets the new run: at its start (409 RUN_IN_PROGRESS), or in the running
    # fleet, where the device is queued already and not a failed one to retry.
    assert others[0] in {(409, "RUN_IN_PROGRESS"), (409, "RUN_NOT_WAITING"), (200, None)}
    events = await read_sse(await api.get(fleet_path(fleet_id, "events")), within=60)
    assert events[-1].data["counts"]["SUCCEEDED"] == 1
    assert len(flaky.applied) == 2


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


async def test_fleet_of_a_family_that_needs_device_secrets_starts_nothing_and_says_why(
    api: ApiClient, site: str, fleet_id: str
) -> None:
    # Zigbee devices join with their own install code; a fleet carries no device secrets.
    body = fleet_body(site, [])
    body["template"] = {"type": "light", "vendor": "ikea", "capabilities": ["zigbee"], "site": site}
    body["devices"] = [
        {"device_id": d, "transport_hints": {"ieee": f"00:17:88:01:0b:1c:2d:0{n}"}}
        for n, d in enumerate(device_ids(3))
    ]
    del body["network"]

    response = await api.post(fleet_path(fleet_id), json=body)

    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == ErrorCode.UNSUPPORTED_DEVICE
    assert "3 of 3 devices" in problem["detail"]
    assert {r["code"] for r in problem["rejected"]} == {ErrorCode.INVALID_REQUEST}
    [reason] = problem["rejected"][0]["reasons"]
    assert reason["strategy"] == "zigbee"
    assert any("secrets" in text for text in reason["reasons"]), reason
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


def fleet_csv(site: str, ids: list[str], *, passphrase: str = PASSPHRASE) -> str:
    lines = ["device_id,type,vendor,capabilities,site,ssid,passphrase"]
    lines += [f"{d},wifi-relay,shelly,wifi http-rpc,{site},home-net,{passphrase}" for d in ids]
    return "\r\n".join(lines) + "\r\n"


async def test_a_fleet_sent_as_csv_provisions_one_device_a_line(
    api: ApiClient, fleet_workers: FakeWifiFleet, site: str, fleet_id: str
) -> None:
    ids = device_ids(3)
    for device_id in ids:
        fleet_workers.add(device_id, good_passphrase=PASSPHRASE)

    started = await api.post(
        fleet_path(fleet_id), data=fleet_csv(site, ids), headers={"Content-Type": "text/csv"}
    )
    assert started.status == 202, await started.text()
    events = await read_sse(await api.get(fleet_path(fleet_id, "events")), within=60)

    assert events[-1].data["counts"]["SUCCEEDED"] == 3
    assert {d: fleet_workers.devices[d].configured_ssid for d in ids} == dict.fromkeys(
        ids, "home-net"
    )


async def test_a_csv_fleet_with_bad_lines_is_refused_naming_each_line(
    api: ApiClient, site: str, fleet_id: str
) -> None:
    ids = device_ids(3)
    lines = fleet_csv(site, ids).splitlines()
    lines[2] = lines[2].replace("wifi-relay", "wifi-bulb")  # a second template
    lines[3] = "bad id!," + lines[3].split(",", 1)[1]
    lines.append("only,three,fields")

    refused = await api.post(
        fleet_path(fleet_id), data="\n".join(lines), headers={"Content-Type": "text/csv"}
    )

    assert refused.status == 422
    problem = await refused.json()
    assert problem["code"] == "INVALID_REQUEST"
    assert sorted(e["loc"] for e in problem["errors"]) == [
        ["body", 3, "type"],
        ["body", 5],
    ]
    assert PASSPHRASE not in await refused.text()


async def test_a_csv_fleet_whose_lines_fail_validation_names_the_line_and_field(
    api: ApiClient, site: str, fleet_id: str
) -> None:
    ids = device_ids(2)
    lines = fleet_csv(site, ids).splitlines()
    lines[2] = "bad id!," + lines[2].split(",", 1)[1]

    refused = await api.post(
        fleet_path(fleet_id), data="\n".join(lines), headers={"Content-Type": "text/csv"}
    )

    assert refused.status == 422
    assert [e["loc"] for e in (await refused.json())["errors"]] == [["body", 3, "device_id"]]


async def test_the_sdk_sends_a_csv_fleet(
    api: ApiClient, fleet_workers: FakeWifiFleet, site: str, fleet_id: str
) -> None:
    ids = device_ids(2)
    for device_id in ids:
        fleet_workers.add(device_id, good_passphrase=PASSPHRASE)

    async with DevprovClient(f"http://127.0.0.1:{api.server.port}") as sdk:
        started = await sdk.start_fleet_csv(fleet_id, fleet_csv(site, ids))
        status = await sdk.get_fleet(fleet_id)

    assert started.total == 2
    assert status.total == 2
