"""Handlers of fleets: start, status, aggregate progress stream, retry, skip, cancel."""

from __future__ import annotations

from aiohttp import web
from aiohttp_sse import sse_response

from api.access import caller_of, stream_slot, take_start
from api.bodies import read_body, read_model
from api.fleet_csv import CSV_CONTENT_TYPE, parse_fleet_csv
from api.keys import DEPENDENCIES, FLEET_HUB, FLEETS
from api.problems import ApiError
from api.responses import model_response
from api.routes_streams import closing_on_disconnect, resume_after
from domain.api_models import FLEET_SSE_EVENT, DeviceSelection, StartedFleet
from domain.errors import ErrorCode
from domain.fleet import FleetRequest, fleet_workflow_id

SSE_EVENT = FLEET_SSE_EVENT


async def _own_fleet(request: web.Request) -> str:
    fleet_id = _fleet_id(request)
    await request.app[FLEETS].check_tenant(fleet_id, caller_of(request).tenant)
    return fleet_id


def _fleet_id(request: web.Request) -> str:
    return request.match_info["fleet_id"]  # checked by api.path_identifiers


async def start_fleet(request: web.Request) -> web.Response:
    """`POST /fleets/{fleet_id}/provision`: plan every device and start the fleet (202)."""
    fleet_id = _fleet_id(request)
    limit = request.app[DEPENDENCIES].settings.api.max_fleet_request_bytes
    if request.content_type == CSV_CONTENT_TYPE:
        body = parse_fleet_csv(await read_body(request, limit))
    else:
        body = await read_model(request, FleetRequest, limit=limit)
    take_start(request, devices=len(body.devices))
    started = await request.app[FLEETS].start(fleet_id, body, tenant=caller_of(request).tenant)
    return _accepted(started)


def _accepted(started: StartedFleet) -> web.Response:
    return model_response(started, status=202, headers={"Location": started.links.self})


async def fleet_status(request: web.Request) -> web.Response:
    """`GET /fleets/{fleet_id}/provision`: aggregate progress."""
    return model_response(await request.app[FLEETS].status(await _own_fleet(request)))


async def fleet_events(request: web.Request) -> web.StreamResponse:
    """`GET /fleets/{fleet_id}/provision/events`: the aggregate snapshot at every change."""
    fleet_id = _fleet_id(request)
    run_id = await request.app[FLEETS].latest_run(fleet_id, caller_of(request).tenant)
    after = resume_after(request)
    ping = request.app[DEPENDENCIES].stream_ping_seconds
    async with (
        stream_slot(request),
        request.app[FLEET_HUB].subscribe(fleet_workflow_id(fleet_id), run_id) as subscription,
    ):
        snapshot = await subscription.next()  # 404 before the stream starts
        if snapshot is None:
            raise ApiError(503, ErrorCode.TEMPORAL_UNAVAILABLE, "the API is shutting down")
        async with sse_response(request, ping_interval=ping) as response:
            with closing_on_disconnect(response, subscription):
                try:
                    while snapshot is not None:
                        if snapshot.sequence > after:
                            after = snapshot.sequence
                            await response.send(
                                snapshot.model_dump_json(), id=str(after), event=SSE_EVENT
                            )
                        if snapshot.finished:
                            break
                        try:
                            snapshot = await subscription.next()
                        except ApiError:
                            break
                except ConnectionResetError:
                    pass
    return response


async def retry_fleet(request: web.Request) -> web.Response:
    """`POST .../retry`: failed devices again (200 in a running fleet, 202 as a new run)."""
    fleet_id = await _own_fleet(request)
    selection = await read_model(request, DeviceSelection)
    take_start(request, devices=len(selection.device_ids or ()) or 1)
    outcome = await request.app[FLEETS].retry_failed(fleet_id, selection.device_ids)
    if isinstance(outcome, StartedFleet):
        return _accepted(outcome)
    return model_response(outcome)


async def skip_devices(request: web.Request) -> web.Response:
    """`POST .../skip`: leave queued devices out."""
    fleet_id = await _own_fleet(request)
    selection = await read_model(request, DeviceSelection)
    return model_response(await request.app[FLEETS].skip(fleet_id, selection.device_ids))


async def cancel_fleet(request: web.Request) -> web.Response:
    """`POST .../cancel`: running device runs roll back; queued ones never start (202)."""
    snapshot = await request.app[FLEETS].cancel(await _own_fleet(request))
    return model_response(snapshot, status=202)
