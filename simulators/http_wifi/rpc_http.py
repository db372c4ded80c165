"""The devices' local HTTP RPC API (Shelly Gen2 style), with transport-level faults.

- `POST /devices/{device_id}/rpc` takes a frame `{"id", "src", "method", "params"}` and
  answers `{"id", "src", "dst", "result"}` or `{"id", "src", "dst", "error"}`.
- `GET /devices/{device_id}/rpc/{method}` calls a method without parameters and answers
  the bare result, or `{"code", "message"}` with an HTTP error status.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from aiohttp import web

from simulators.http_wifi.app_keys import FLEET_KEY
from simulators.http_wifi.device import SimulatedWifiDevice
from simulators.http_wifi.rpc_methods import (
    RpcError,
    RpcErrorCode,
    call_method,
    canonical_method_name,
)

logger = logging.getLogger("devprov.simulators.http_wifi")

routes = web.RouteTableDef()

_HTTP_STATUS_OF_ERROR = {
    RpcErrorCode.INVALID_ARGUMENT: 400,
    RpcErrorCode.NOT_FOUND: 404,
    RpcErrorCode.RESOURCE_UNAVAILABLE: 503,
    RpcErrorCode.UNAUTHORIZED: 401,
}


@dataclass(frozen=True)
class _Frame:
    """A parsed request frame."""

    id: object
    src: str | None
    method: str
    params: dict[str, object]


def _device_or_404(request: web.Request) -> SimulatedWifiDevice:
    device_id = request.match_info["device_id"]
    device = request.app[FLEET_KEY].get(device_id)
    if device is None:
        raise web.HTTPNotFound(
            text=json.dumps(
                {
                    "error": "device_not_found",
                    "message": f"no simulated device '{device_id}'",
                    "device_id": device_id,
                }
            ),
            content_type="application/json",
        )
    return device


def _drop_connection(request: web.Request) -> web.Response:
    """Close the connection without answering, as a device that went out of range.

    The returned response is never sent; aiohttp needs one to finish the handler. Its
    status, 444 ("connection closed without response" in nginx), is what the access
    log shows.
    """
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=444)


async def _transport_faults(
    request: web.Request, device: SimulatedWifiDevice
) -> web.Response | None:
    """Apply the faults that happen below the RPC layer; a response ends the request."""
    fleet = request.app[FLEET_KEY]
    if device.faults.unreachable or not device.reachable(fleet.now(), fleet.networks):
        logger.info("device %s: dropping the connection (unreachable)", device.device_id)
        return _drop_connection(request)
    if device.faults.latency > 0:
        await asyncio.sleep(device.faults.latency)
    if device.take_fault("server_errors"):
        logger.info("device %s: answering HTTP 500 (fault)", device.device_id)
        return web.Response(status=500, text="Internal Server Error")
    if device.take_fault("garbled_responses"):
        logger.info("device %s: answering a garbled body (fault)", device.device_id)
        return web.Response(status=200, text="<html>\x00\x13 not json", content_type="text/html")
    return None


async def _read_frame(request: web.Request) -> _Frame:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RpcError(RpcErrorCode.INVALID_ARGUMENT, "Request body is not JSON") from None
    if not isinstance(body, dict):
        raise RpcError(RpcErrorCode.INVALID_ARGUMENT, "Request frame must be a JSON object")
    method = body.get("method")
    if not isinstance(method, str) or not method:
        raise RpcError(RpcErrorCode.INVALID_ARGUMENT, "Request frame needs a 'method'")
    params = body.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise RpcError(RpcErrorCode.INVALID_ARGUMENT, "'params' must be an object")
    src = body.get("src")
    return _Frame(body.get("id"), src if isinstance(src, str) else None, method, params)


def _envelope(device: SimulatedWifiDevice, frame: _Frame | None) -> dict[str, object]:
    envelope: dict[str, object] = {"id": frame.id if frame else None, "src": device.device_id}
    if frame is not None and frame.src is not None:
        envelope["dst"] = frame.src
    return envelope


@routes.post("/devices/{device_id}/rpc")
async def rpc_frame(request: web.Request) -> web.Response:
    """One RPC frame over HTTP POST."""
    device = _device_or_404(request)
    faulted = await _transport_faults(request, device)
    if faulted is not None:
        return faulted
    frame: _Frame | None = None
    try:
        frame = await _read_frame(request)
        result = call_method(device, request.app[FLEET_KEY], frame.method, frame.params)
    except RpcError as error:
        # Shelly answers RPC errors inside a 200 frame, except authentication (HTTP 401).
        status = 401 if error.code is RpcErrorCode.UNAUTHORIZED else 200
        if frame is None:
            status = 400
        return web.json_response(
            {**_envelope(device, frame), "error": error.as_error_object()}, status=status
        )
    if canonical_method_name(frame.method) == "WiFi.SetConfig" and device.take_fault(
        "drop_after_apply"
    ):
        logger.info("device %s: applied the config, dropping the answer", device.device_id)
        return _drop_connection(request)
    return web.json_response({**_envelope(device, frame), "result": result})


@routes.get("/devices/{device_id}/rpc/{method}")
async def rpc_get(request: web.Request) -> web.Response:
    """A method without parameters over HTTP GET: bare result or `{code, message}`."""
    device = _device_or_404(request)
    faulted = await _transport_faults(request, device)
    if faulted is not None:
        return faulted
    try:
        result = call_method(device, request.app[FLEET_KEY], request.match_info["method"], {})
    except RpcError as error:
        headers = {}
        if error.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(error.retry_after)))
        return web.json_response(
            error.as_error_object(), status=_HTTP_STATUS_OF_ERROR[error.code], headers=headers
        )
    return web.json_response(result)
