"""Schemathesis catches a wrongly shaped streamed event: the negative of the fuzz test.

A tiny aiohttp app answers the two event-stream routes with exactly the bytes a case
gives; schemathesis checks the answer (its default checks) against the API's own
OpenAPI document, as the fuzz test does on the live API. A well-formed stream passes,
so each stream refused below is refused for the one thing wrong with it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import schemathesis
from aiohttp import web
from schemathesis.core.failures import FailureGroup

from api.openapi import openapi_document
from domain.api_models import FLEET_SSE_EVENT, PROGRESS_SSE_EVENT
from domain.fleet import DeviceOutcome, FleetSnapshot, FleetState
from domain.progress import StreamedEvent
from domain.states import ProvisioningState, Step

DEVICE_STREAM = "/api/v1/devices/{device_id}/provision/events"
FLEET_STREAM = "/api/v1/fleets/{fleet_id}/provision/events"
NOW = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)

EVENT = StreamedEvent(
    sequence=1,
    state=ProvisioningState.PENDING,
    step=Step.START,
    message="run accepted",
    updated_at=NOW,
    workflow_id="provision-d1",
    run_id="r1",
    device_id="d1",
    strategy="http-wifi",
    terminal=False,
)
FLEET = FleetSnapshot(
    fleet_id="f1",
    state=FleetState.RUNNING,
    total=1,
    counts={DeviceOutcome.RUNNING: 1},
    failures_by_code={},
    failures=[],
    in_flight_by_site={"lab": 1},
    generation=0,
    sequence=1,
    updated_at=NOW,
)
EVENT_JSON: dict[str, Any] = json.loads(EVENT.model_dump_json())
FLEET_JSON: dict[str, Any] = json.loads(FLEET.model_dump_json())


def sse(*fields: tuple[str, str]) -> str:
    """One event in the wire format: `name: value` lines, then a blank line."""
    return "".join(f"{name}: {value}\n" for name, value in fields) + "\n"


def progress(data: object, *, event: str = PROGRESS_SSE_EVENT, id: str = "1") -> str:
    payload = data if isinstance(data, str) else json.dumps(data)
    return sse(("id", id), ("event", event), ("data", payload))


def fleet_progress(data: object, *, event: str = FLEET_SSE_EVENT) -> str:
    return sse(("id", "1"), ("event", event), ("data", json.dumps(data)))


def without(payload: dict[str, Any], field: str) -> dict[str, Any]:
    return {name: value for name, value in payload.items() if name != field}


@dataclass
class StreamServer:
    """The stream routes of the API, answering `body` as `text/event-stream`."""

    url: str
    body: str = ""


@pytest.fixture
async def stream_server() -> AsyncIterator[StreamServer]:
    server = StreamServer(url="")

    async def answer(request: web.Request) -> web.Response:
        return web.Response(text=server.body, content_type="text/event-stream")

    app = web.Application()
    app.router.add_get(DEVICE_STREAM, answer)
    app.router.add_get(FLEET_STREAM, answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


async def failures_of(server: StreamServer, route: str, body: str) -> list[tuple[str, str]]:
    """Schemathesis' failures (title, message) for a 200 stream of `body` on `route`."""
    schema = schemathesis.openapi.from_dict(openapi_document())
    ids = {"device_id": "d1"} if "{device_id}" in route else {"fleet_id": "f1"}
    case = schema[route]["GET"].Case(path_parameters=ids)
    server.body = body
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        response = await http.get(server.url + route.format(**ids))
    assert response.status_code == 200
    try:
        case.validate_response(response)
    except FailureGroup as group:
        return [(failure.title, failure.message) for failure in group.exceptions]
    return []


@pytest.mark.parametrize(
    ("route", "body"),
    [
        (DEVICE_STREAM, progress(EVENT_JSON)),
        (DEVICE_STREAM, progress(EVENT_JSON) + progress({**EVENT_JSON, "sequence": 2}, id="2")),
        (FLEET_STREAM, fleet_progress(FLEET_JSON)),
    ],
    ids=["one-progress-event", "two-progress-events", "one-fleet-event"],
)
async def test_events_as_the_api_sends_them_pass(
    stream_server: StreamServer, route: str, body: str
) -> None:
    assert await failures_of(stream_server, route, body) == []


PAYLOAD = "SSE event payload violates content schema"
EVENT_SHAPE = "SSE event violates schema"


@pytest.mark.parametrize(
    ("route", "body", "title", "says"),
    [
        (
            DEVICE_STREAM,
            progress(without(EVENT_JSON, "sequence")),
            PAYLOAD,
            '"sequence" is a required property',
        ),
        (
            DEVICE_STREAM,
            progress({**EVENT_JSON, "state": "DONE"}),
            PAYLOAD,
            '"DONE" is not one of',
        ),
        (DEVICE_STREAM, progress(FLEET_JSON), PAYLOAD, "is a required property"),
        (DEVICE_STREAM, progress("{not json"), EVENT_SHAPE, "cannot deserialize payload"),
        (
            DEVICE_STREAM,
            progress(EVENT_JSON, event=FLEET_SSE_EVENT),
            EVENT_SHAPE,
            f'"{PROGRESS_SSE_EVENT}" was expected',
        ),
        (
            DEVICE_STREAM,
            sse(("event", PROGRESS_SSE_EVENT), ("data", json.dumps(EVENT_JSON))),
            EVENT_SHAPE,
            '"id" is a required property',
        ),
        (DEVICE_STREAM, progress(EVENT_JSON, id="first"), EVENT_SHAPE, '"first" does not match'),
        (
            DEVICE_STREAM,
            progress(EVENT_JSON) + progress({**EVENT_JSON, "terminal": "yes"}, id="2"),
            PAYLOAD,
            "Event #1",
        ),
        (
            FLEET_STREAM,
            fleet_progress(without(FLEET_JSON, "fleet_id")),
            PAYLOAD,
            '"fleet_id" is a required property',
        ),
        (
            FLEET_STREAM,
            fleet_progress(FLEET_JSON, event=PROGRESS_SSE_EVENT),
            EVENT_SHAPE,
            f'"{FLEET_SSE_EVENT}" was expected',
        ),
    ],
    ids=[
        "payload-without-sequence",
        "payload-with-unknown-state",
        "fleet-payload-on-device-stream",
        "payload-not-json",
        "wrong-event-name",
        "no-id",
        "id-not-a-sequence",
        "second-event-wrong",
        "fleet-payload-without-fleet-id",
        "fleet-stream-wrong-event-name",
    ],
)
async def test_a_wrongly_shaped_event_is_reported(
    stream_server: StreamServer, route: str, body: str, title: str, says: str
) -> None:
    failures = await failures_of(stream_server, route, body)

    assert [found for found, _ in failures] == [title], failures
    assert says in failures[0][1], failures
