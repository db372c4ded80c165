"""Handlers of a device's run: start, status, credentials, retry, cancel; and strategies."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.access import caller_of, take_start
from api.bodies import invalid, read_model
from api.keys import DEPENDENCIES, METRICS, RUNS
from api.problems import FieldError
from api.responses import model_response, models_response
from api.schemas import StartedRun, StrategyInfo
from domain.requests import NetworkCredentials, ProvisionRequest


def _with_path_device_id(data: Any, device_id: str) -> Any:
    """Fill `device.device_id` from the path; a different one in the body is an error."""
    if not isinstance(data, dict) or not isinstance(data.get("device"), dict):
        return data  # validation reports the missing or mistyped device
    device = data["device"]
    given = device.get("device_id")
    if given is None:
        return {**data, "device": {**device, "device_id": device_id}}
    if given != device_id:
        raise invalid(
            [
                FieldError(
                    loc=["device", "device_id"],
                    msg="must be the device id of the path (or left out)",
                    type="device_id_mismatch",
                )
            ],
            detail="the body names another device than the path",
        )
    return data


def _accepted(app: web.Application, started: StartedRun) -> web.Response:
    app[METRICS].runs_started.labels(started.strategy).inc()
    return model_response(started, status=202, headers={"Location": started.links.self})


async def start_run(request: web.Request) -> web.Response:
    """`POST .../provision`: select the strategy and start the run (202)."""
    device_id = request.match_info["device_id"]
    body = await read_model(
        request, ProvisionRequest, lambda data: _with_path_device_id(data, device_id)
    )
    take_start(request)
    caller = caller_of(request)
    started = await request.app[RUNS].start(body, started_by=caller.identity, tenant=caller.tenant)
    return _accepted(request.app, started)


async def _own_device(request: web.Request) -> str:
    """The path's device id, once its run is known to belong to the caller's tenant."""
    device_id = request.match_info["device_id"]
    await request.app[RUNS].check_tenant(device_id, caller_of(request).tenant)
    return device_id


async def run_status(request: web.Request) -> web.Response:
    """`GET .../provision`: the progress snapshot and execution status."""
    status = await request.app[RUNS].status(await _own_device(request))
    return model_response(status)


async def submit_credentials(request: web.Request) -> web.Response:
    """`POST .../credentials`: network credentials for a waiting run."""
    device_id = await _own_device(request)
    credentials = await read_model(request, NetworkCredentials)
    snapshot = await request.app[RUNS].submit_credentials(device_id, credentials)
    return model_response(snapshot)


async def retry_run(request: web.Request) -> web.Response:
    """`POST .../retry`: start over in the waiting run (200) or as a new run (202)."""
    device_id = await _own_device(request)
    caller = caller_of(request)
    outcome = await request.app[RUNS].retry(
        device_id, started_by=caller.identity, tenant=caller.tenant
    )
    if isinstance(outcome, StartedRun):
        return _accepted(request.app, outcome)
    return model_response(outcome)


async def cancel_run(request: web.Request) -> web.Response:
    """`POST .../cancel`: request cancellation (202); the run rolls the device back."""
    snapshot = await request.app[RUNS].cancel(await _own_device(request))
    return model_response(snapshot, status=202)


async def list_strategies(request: web.Request) -> web.Response:
    """`GET /strategies`: every registered strategy, with its switches."""
    registry = request.app[DEPENDENCIES].registry
    return models_response(
        [
            StrategyInfo.model_validate(
                {
                    **strategy.describe(),
                    "enabled": registry.is_enabled(strategy.name),
                    "default": strategy.name == registry.default,
                }
            )
            for strategy in registry.strategies
        ]
    )
