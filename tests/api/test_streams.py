"""Following a run: Server-Sent Events (with resume) and WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import WSMsgType
from temporalio.client import Client

from tests.api.conftest import (
    CREDENTIALS,
    ApiClient,
    provision_body,
    read_sse,
    run_path,
    wait_for_state,
)
from tests.fakes import FakeWifiDevice

HAPPY_STATES = ["PENDING", "DETECTING", "PRE_CHECK", "PROVISIONING", "CONFIRMING", "SUCCEEDED"]


async def test_event_stream_shows_each_state_in_order_then_ends(
    api: ApiClient,
    workers: FakeWifiDevice,
    device_id: str,
    site: str,
    temporal_client: Client,
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))

    async with api.get(run_path(device_id, "events")) as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        events = await read_sse(response)

    assert [e.data["state"] for e in events] == HAPPY_STATES
    ids = [int(e.id or 0) for e in events]
    assert ids == sorted(set(ids))
    assert [e.data["sequence"] for e in events] == ids
    assert {e.event for e in events} == {"progress"}
    last = events[-1].data
    assert last["terminal"] is True
    assert {"state", "step", "message", "updated_at", "device_id", "strategy"} <= last.keys()
    run = await temporal_client.get_workflow_handle(f"provision-{device_id}").describe()
    assert {e.data["run_id"] for e in events} == {run.run_id}


async def test_event_stream_resumes_after_last_event_id(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))
    async with api.get(run_path(device_id, "events")) as response:
        everything = await read_sse(response)
    seen = everything[2].id
    assert seen is not None

    async with api.get(run_path(device_id, "events"), headers={"Last-Event-ID": seen}) as response:
        resumed = await read_sse(response)

    assert [e.id for e in resumed] == [e.id for e in everything[3:]]
    assert resumed[-1].data["state"] == "SUCCEEDED"


async def test_event_stream_resumes_from_the_query_parameter(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))
    await wait_for_state(api, device_id, "SUCCEEDED")

    async with api.get(run_path(device_id, "events"), params={"last_event_id": "4"}) as response:
        resumed = await read_sse(response)

    assert [int(e.id or 0) for e in resumed] == [5, 6]


async def test_event_stream_of_a_device_without_run_is_404_before_streaming(
    api: ApiClient, device_id: str
) -> None:
    response = await api.get(run_path(device_id, "events"))

    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "RUN_NOT_FOUND"


async def test_event_stream_follows_a_run_that_waits_between_polls(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site, network=False))
    stream = await api.get(run_path(device_id, "events"))
    try:
        await wait_for_state(api, device_id, "PENDING_NETWORK")
        await api.post(run_path(device_id, "credentials"), json=CREDENTIALS)
        events = await read_sse(stream)
    finally:
        stream.close()

    states = [e.data["state"] for e in events]
    assert states[-3:] == ["PROVISIONING", "CONFIRMING", "SUCCEEDED"]
    assert "PENDING_NETWORK" in states


async def test_websocket_carries_the_same_events_and_closes_after_the_terminal_one(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))

    payloads: list[dict[str, Any]] = []
    async with api.ws_connect(run_path(device_id, "ws")) as ws, asyncio.timeout(30):
        async for message in ws:
            assert message.type is WSMsgType.TEXT
            payloads.append(json.loads(message.data))
        assert ws.closed
        assert ws.close_code == 1000

    assert [p["state"] for p in payloads] == HAPPY_STATES
    assert payloads[-1]["terminal"] is True


async def test_websocket_of_a_device_without_run_is_404_before_upgrading(
    api: ApiClient, device_id: str
) -> None:
    response = await api.get(run_path(device_id, "ws"))

    assert response.status == 404
    assert (await response.json())["code"] == "RUN_NOT_FOUND"


@pytest.mark.parametrize(
    ("route", "bad"),
    [
        ("events", {"headers": {"Last-Event-ID": "abc"}}),
        ("events", {"headers": {"Last-Event-ID": "-1"}}),
        ("events", {"params": {"last_event_id": "null"}}),
        # Present but empty: not a sequence either (browsers leave the header out).
        ("events", {"headers": {"Last-Event-ID": ""}}),
        # Both given: the header is used, and the query must be a sequence all the same.
        ("events", {"headers": {"Last-Event-ID": "3"}, "params": {"last_event_id": "-1"}}),
        ("ws", {"params": {"last_event_id": "abc"}}),
        ("ws", {"params": {"last_event_id": "-3"}}),
        ("ws", {"params": {"last_event_id": ""}}),
    ],
)
async def test_streams_reject_a_last_event_id_that_is_not_a_sequence(
    api: ApiClient, device_id: str, route: str, bad: dict[str, Any]
) -> None:
    response = await api.get(run_path(device_id, route), **bad)

    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "INVALID_REQUEST"


async def test_websocket_route_answers_a_plain_get_400_without_following_the_run(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site, network=False))
    await wait_for_state(api, device_id, "PENDING_NETWORK")
    queries = await _metric(api, "devprov_api_progress_queries")

    response = await api.get(run_path(device_id, "ws"))

    assert response.status == 400
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["code"] == "INVALID_REQUEST"
    assert "WebSocket" in problem["detail"]
    assert await _metric(api, "devprov_api_progress_queries") == queries


async def _metric(api: ApiClient, name: str) -> float:
    text = await (await api.get("/metrics")).text()
    [line] = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])
