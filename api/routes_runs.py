"""Handlers of a device's run: start, status, credentials, retry, cancel; listing runs;
and strategies."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.access import caller_of, take_start
from api.auth import Scope
from api.bodies import field_errors, invalid, read_model
from api.keys import DEPENDENCIES, FAMILIES, HUB, METRICS, RUNS
from api.problems import ApiError
from api.responses import model_response, models_response
from domain.api_models import FieldError, RunList, StartedRun, StrategyInfo, StrategyQuery
from domain.errors import ErrorCode
from domain.requests import ClientBleReport, NetworkCredentials, ProvisionRequest
from domain.states import VisibleState
from services.run_listing import MAX_RUNS, RunFilter, list_runs
from strategies.family import DeviceFamily


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
    caller = caller_of(request)
    if body.tenant is not None and not caller.may(Scope.ADMIN):
        raise ApiError(
            403, ErrorCode.FORBIDDEN, "only an admin key may migrate a device to another tenant"
        )
    take_start(request)
    started = await request.app[RUNS].start(body, started_by=caller.identity, tenant=caller.tenant)
    return _accepted(request.app, started)


def _nudge_followers(request: web.Request, device_id: str) -> None:
    """The run was just told something: its followers on this API process see what it
    does next without waiting for the next poll (`ProgressHub.nudge`)."""
    request.app[HUB].nudge(request.app[RUNS].workflow_id(device_id))


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
    _nudge_followers(request, device_id)
    return model_response(snapshot)


async def client_ble_result(request: web.Request) -> web.Response:
    """`POST .../client-ble-result`: what the installer's browser did with the device."""
    device_id = await _own_device(request)
    report = await read_model(request, ClientBleReport)
    snapshot = await request.app[RUNS].report_client_ble(device_id, report)
    _nudge_followers(request, device_id)
    return model_response(snapshot)


async def forget_credentials(request: web.Request) -> web.Response:
    """`POST .../forget-credentials`: the run drops its credentials and asks again."""
    device_id = await _own_device(request)
    snapshot = await request.app[RUNS].forget_credentials(device_id)
    _nudge_followers(request, device_id)
    return model_response(snapshot)


async def retry_run(request: web.Request) -> web.Response:
    """`POST .../retry`: start over in the waiting run (200) or as a new run (202)."""
    device_id = await _own_device(request)
    take_start(request)
    caller = caller_of(request)
    outcome = await request.app[RUNS].retry(
        device_id, started_by=caller.identity, tenant=caller.tenant
    )
    if isinstance(outcome, StartedRun):
        return _accepted(request.app, outcome)
    _nudge_followers(request, device_id)
    return model_response(outcome)


async def cancel_run(request: web.Request) -> web.Response:
    """`POST .../cancel`: request cancellation (202); the run rolls the device back."""
    device_id = await _own_device(request)
    snapshot = await request.app[RUNS].cancel(device_id)
    _nudge_followers(request, device_id)
    return model_response(snapshot, status=202)


def _family_parts(family: DeviceFamily | None) -> dict[str, object]:
    """A strategy's request schema and examples, from its family's descriptor."""
    if family is None:
        return {"request_schema": ProvisionRequest.model_json_schema(mode="validation")}
    plan = family.decommission
    return {
        "request_schema": family.request_schema(),
        "examples": list(family.examples),
        "decommission": plan.describe() if plan is not None else None,
    }


async def list_strategies(request: web.Request) -> web.Response:
    """`GET /strategies`: every registered strategy, with its switches, the schema of its
    requests and example requests."""
    registry = request.app[DEPENDENCIES].registry
    families = request.app[FAMILIES]
    return models_response(
        [
            StrategyInfo.model_validate(
                {
                    **strategy.describe(),
                    "enabled": registry.is_enabled(strategy.name),
                    "default": strategy.name == registry.default,
                    **_family_parts(families.get(strategy.name)),
                }
            )
            for strategy in registry.strategies
        ]
    )


# No control character, quote or backslash: none is in an id, a site, a strategy or an
# error code, and a NUL byte broke the visibility query on the SQLite store (a 503).
FILTER_VALUE_PATTERN = r"""^[^\x00-\x1f\x7f"'\\]*$"""


class RunListQuery(BaseModel):
    """Query parameters of `GET /runs`."""

    model_config = ConfigDict(extra="forbid")

    state: VisibleState | None = None
    strategy: str | None = Field(default=None, max_length=64, pattern=FILTER_VALUE_PATTERN)
    error_code: str | None = Field(default=None, max_length=64, pattern=FILTER_VALUE_PATTERN)
    site: str | None = Field(default=None, max_length=64, pattern=FILTER_VALUE_PATTERN)
    device: str | None = Field(default=None, max_length=128, pattern=FILTER_VALUE_PATTERN)
    fleet: str | None = Field(default=None, max_length=128, pattern=FILTER_VALUE_PATTERN)
    running: bool = False
    limit: int = Field(default=50, ge=1, le=MAX_RUNS)


async def list_provisioning_runs(request: web.Request) -> web.Response:
    """`GET /runs`: the caller's tenant's runs, newest first, from Temporal's visibility."""
    try:
        query = RunListQuery.model_validate(dict(request.query))
    except ValidationError as error:
        errors = [
            FieldError(loc=["query", *e.loc], msg=e.msg, type=e.type) for e in field_errors(error)
        ]
        raise invalid(errors, detail="invalid query parameters") from None
    run_filter = RunFilter(
        state=query.state,
        strategy=query.strategy,
        error_code=query.error_code,
        site=query.site,
        device_id=query.device,
        fleet_id=query.fleet,
        running=query.running,
        tenant=caller_of(request).tenant,
    )
    client = request.app[DEPENDENCIES].temporal
    runs = await list_runs(client, run_filter, query.limit)
    return model_response(RunList(runs=runs, query=run_filter.query()))


async def match_strategy(request: web.Request) -> web.Response:
    """`POST /strategies/match`: which strategy would provision the device, or why none."""
    query = await read_model(request, StrategyQuery)
    return model_response(request.app[RUNS].match(query))
