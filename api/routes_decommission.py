"""Handlers of a device's decommissioning run: start, status, cancel (its streams are in
`api.routes_streams`, with the provisioning run's)."""

from __future__ import annotations

from aiohttp import web

from api.access import caller_of, take_start
from api.keys import DECOMMISSIONS, METRICS
from api.responses import model_response


async def start_decommission(request: web.Request) -> web.Response:
    """`POST .../decommission`: start taking the device out of service (202)."""
    device_id = request.match_info["device_id"]
    take_start(request)
    caller = caller_of(request)
    started = await request.app[DECOMMISSIONS].start(
        device_id, started_by=caller.identity, tenant=caller.tenant
    )
    request.app[METRICS].decommissions_started.labels(started.strategy).inc()
    return model_response(started, status=202, headers={"Location": started.links.self})


async def _own_device(request: web.Request) -> str:
    """The path's device id, once its decommissioning run is known to be the caller's."""
    device_id = request.match_info["device_id"]
    await request.app[DECOMMISSIONS].check_tenant(device_id, caller_of(request).tenant)
    return device_id


async def decommission_status(request: web.Request) -> web.Response:
    """`GET .../decommission`: the progress snapshot and execution status."""
    status = await request.app[DECOMMISSIONS].status(await _own_device(request))
    return model_response(status)


async def cancel_decommission(request: web.Request) -> web.Response:
    """`POST .../decommission/cancel`: request cancellation (202). Before its first undo
    step the run ends CANCELLED and the device stays in service; after it, the cancel is
    noted and the decommission finishes."""
    snapshot = await request.app[DECOMMISSIONS].cancel(await _own_device(request))
    return model_response(snapshot, status=202)
