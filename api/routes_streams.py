"""Progress streams of a run: Server-Sent Events and WebSocket, both fed by the hub."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp_sse import EventSourceResponse, sse_response

from api.access import caller_of, stream_resource, stream_slot
from api.keys import DECOMMISSIONS, DEPENDENCIES, FLEETS, HUB, RUNS
from api.problems import ApiError
from api.responses import model_response
from api.stream_tickets import TICKET_SECONDS, issue
from api.streams import Subscription
from domain.api_models import PROGRESS_SSE_EVENT, FleetLinks, RunLinks, StreamAccess
from domain.errors import ErrorCode
from domain.progress import ProgressSnapshot
from services.runs import DeviceRuns

SSE_EVENT = PROGRESS_SSE_EVENT
HTTP_CLIENT_CLOSED_REQUEST = 499
"""Answered (to nobody) when the client left before its stream started (nginx's code)."""


def resume_after(request: web.Request) -> int:
    """The sequence the client already has: `Last-Event-ID`, or `?last_event_id=`.

    Each one given must be a sequence, even the query next to a header (which wins):
    an empty or malformed value is refused rather than read as "from the start".
    """
    given = [
        _sequence(raw)
        for raw in (request.headers.get("Last-Event-ID"), request.query.get("last_event_id"))
        if raw is not None
    ]
    return given[0] if given else 0


def _sequence(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ApiError(
            400,
            ErrorCode.INVALID_REQUEST,
            "Last-Event-ID must be an event sequence number (0 or more)",
        )
    return value


async def _event_payloads(
    subscription: Subscription[ProgressSnapshot], first: ProgressSnapshot, after: int, run_id: str
) -> AsyncGenerator[tuple[int, dict[str, object]], None]:
    """Each event newer than `after`, in order; ends after the terminal one."""
    snapshot: ProgressSnapshot | None = first
    while snapshot is not None:
        for event in snapshot.events:
            if event.sequence <= after:
                continue
            after = event.sequence
            yield event.sequence, snapshot.event_payload(event, run_id)
            if event.state.is_terminal:
                return
        if snapshot.state.is_terminal:
            return
        try:
            snapshot = await subscription.next()
        except ApiError:
            # The run vanished or cannot be followed any more: end the stream; the
            # client can reconnect and get a proper problem response.
            return


async def _first_snapshot(subscription: Subscription[ProgressSnapshot]) -> ProgressSnapshot:
    first = await subscription.next()
    if first is None:
        raise ApiError(503, ErrorCode.TEMPORAL_UNAVAILABLE, "the API is shutting down")
    return first


async def progress_events(request: web.Request) -> web.StreamResponse:
    """`GET .../provision/events`: Server-Sent Events, `id` = event sequence.

    The stream follows the device's latest run as of the request to its end; a run a
    retry starts later is followed by a new request (its sequence starts over).
    """
    return await _events(request, request.app[RUNS])


async def decommission_events(request: web.Request) -> web.StreamResponse:
    """`GET .../decommission/events`: the decommissioning run's events, as for a
    provisioning run."""
    return await _events(request, request.app[DECOMMISSIONS])


async def _events(request: web.Request, runs: DeviceRuns) -> web.StreamResponse:
    device_id = request.match_info["device_id"]
    after = resume_after(request)
    ping = request.app[DEPENDENCIES].stream_ping_seconds
    run_id = await runs.latest_run(device_id, caller_of(request).tenant)
    async with (
        stream_slot(request),
        request.app[HUB].subscribe(runs.workflow_id(device_id), run_id) as subscription,
    ):
        first = await _first_snapshot(subscription)  # 404 before the stream starts
        if request.transport is None:  # the client left while the run was looked up
            return web.Response(status=HTTP_CLIENT_CLOSED_REQUEST)
        async with sse_response(request, ping_interval=ping) as response:
            with closing_on_disconnect(response, subscription):
                try:
                    async with contextlib.aclosing(
                        _event_payloads(subscription, first, after, run_id)
                    ) as payloads:
                        async for sequence, payload in payloads:
                            await response.send(
                                json.dumps(payload), id=str(sequence), event=SSE_EVENT
                            )
                except ConnectionResetError:
                    pass  # the client went away: nothing left to tell it
    return response


@contextlib.contextmanager
def closing_on_disconnect(
    response: EventSourceResponse, subscription: Subscription[Any]
) -> Iterator[None]:
    """End the subscription when the client goes away.

    aiohttp does not cancel handlers on disconnect; a failed keep-alive ping ends the
    response's ping task, which is the signal to stop following the run.
    """
    watcher = asyncio.create_task(response.wait())
    watcher.add_done_callback(lambda _: subscription.close())
    try:
        yield
    finally:
        watcher.cancel()


async def progress_websocket(request: web.Request) -> web.StreamResponse:
    """`GET .../provision/ws`: the same event payloads as JSON text messages."""
    return await _websocket(request, request.app[RUNS])


async def decommission_websocket(request: web.Request) -> web.StreamResponse:
    """`GET .../decommission/ws`: the decommissioning run's events as JSON messages."""
    return await _websocket(request, request.app[DECOMMISSIONS])


async def _websocket(request: web.Request, runs: DeviceRuns) -> web.StreamResponse:
    device_id = request.match_info["device_id"]
    after = resume_after(request)
    ping = request.app[DEPENDENCIES].stream_ping_seconds
    run_id = await runs.latest_run(device_id, caller_of(request).tenant)
    socket = web.WebSocketResponse(heartbeat=ping)
    if not socket.can_prepare(request).ok:
        # Checked before taking a stream slot and querying the run: a plain GET (a
        # fuzzer, a misconfigured proxy) costs no progress query.
        raise ApiError(
            400, ErrorCode.INVALID_REQUEST, "this route needs a WebSocket upgrade request"
        )
    async with (
        stream_slot(request),
        request.app[HUB].subscribe(runs.workflow_id(device_id), run_id) as subscription,
    ):
        first = await _first_snapshot(subscription)  # 404 before the upgrade
        await socket.prepare(request)
        reader = asyncio.create_task(_drain(socket))
        reader.add_done_callback(lambda _: subscription.close())
        try:
            async with contextlib.aclosing(
                _event_payloads(subscription, first, after, run_id)
            ) as payloads:
                async for _, payload in payloads:
                    if socket.closed:
                        break
                    await socket.send_json(payload)
        except ConnectionResetError:
            pass
        finally:
            await socket.close()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    return socket


async def _drain(socket: web.WebSocketResponse) -> None:
    """Read (and ignore) client messages so that close frames and pongs are handled."""
    async for message in socket:
        if message.type is WSMsgType.ERROR:
            return


async def stream_ticket(request: web.Request) -> web.Response:
    """`POST .../stream-ticket`: a ticket that opens the streams of this device's run
    (or this fleet's) for a minute, for browsers that cannot send the key in a header."""
    caller = caller_of(request)
    if "device_id" in request.match_info:
        device_id = request.match_info["device_id"]
        await request.app[RUNS].check_tenant(device_id, caller.tenant)
        links = RunLinks.for_device(device_id)
        events, ws = links.events, links.ws
    else:
        fleet_id = request.match_info["fleet_id"]
        await request.app[FLEETS].check_tenant(fleet_id, caller.tenant)
        events, ws = FleetLinks.for_fleet(fleet_id).events, None
    auth = request.app[DEPENDENCIES].auth
    resource = stream_resource(request) or ""
    if auth is None:
        access = StreamAccess(
            ticket=None,
            expires_at=datetime.now(UTC) + timedelta(seconds=TICKET_SECONDS),
            events=events,
            ws=ws,
        )
    else:
        ticket = issue(auth.keys, caller, resource)
        query = f"?ticket={ticket.token}"
        access = StreamAccess(
            ticket=ticket.token,
            expires_at=datetime.fromtimestamp(ticket.expires_at, UTC),
            events=events + query,
            ws=ws + query if ws else None,
        )
    return model_response(access, status=201, headers={"Cache-Control": "no-store"})
