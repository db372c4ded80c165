"""Handlers of the device inventory: the registry's records of the caller's tenant."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.access import caller_of
from api.auth import Scope
from api.bodies import field_errors, invalid, read_model
from api.keys import DEVICES
from api.problems import ApiError
from api.responses import model_response
from api.routes_runs import FILTER_VALUE_PATTERN
from domain.api_models import DeviceTransfer, FieldError
from domain.errors import ErrorCode
from domain.identifiers import TENANT
from domain.registry import CURSOR_MAX_LENGTH, CURSOR_PATTERN, DeviceFilter, DeviceState
from services.devices import MAX_PAGE


class DeviceListQuery(BaseModel):
    """Query parameters of `GET /devices`."""

    model_config = ConfigDict(extra="forbid")

    state: DeviceState | None = None
    strategy: str | None = Field(default=None, max_length=64, pattern=FILTER_VALUE_PATTERN)
    vendor: str | None = Field(default=None, max_length=64, pattern=FILTER_VALUE_PATTERN)
    site: str | None = Field(default=None, max_length=64, pattern=FILTER_VALUE_PATTERN)
    network: str | None = Field(default=None, max_length=64, pattern=FILTER_VALUE_PATTERN)
    tenant: str | None = Field(default=None, pattern=TENANT.pattern)
    cursor: str | None = Field(default=None, max_length=CURSOR_MAX_LENGTH, pattern=CURSOR_PATTERN)
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)


def _query(request: web.Request) -> DeviceListQuery:
    try:
        return DeviceListQuery.model_validate(dict(request.query))
    except ValidationError as error:
        errors = [
            FieldError(loc=["query", *e.loc], msg=e.msg, type=e.type) for e in field_errors(error)
        ]
        raise invalid(errors, detail="invalid query parameters") from None


async def list_devices(request: web.Request) -> web.Response:
    """`GET /devices`: the tenant's devices, sorted by id, a page at a time."""
    query = _query(request)
    caller = caller_of(request)
    tenant = caller.tenant
    if query.tenant is not None and query.tenant != caller.tenant:
        if not caller.may(Scope.ADMIN):
            raise ApiError(403, ErrorCode.FORBIDDEN, "only an admin key may name another tenant")
        tenant = query.tenant
    where = DeviceFilter(
        tenant=tenant,
        state=query.state,
        strategy=query.strategy,
        vendor=query.vendor,
        site=query.site,
        network_ssid=query.network,
    )
    page = await request.app[DEVICES].list(where, limit=query.limit, cursor=query.cursor or None)
    return model_response(page)


async def show_device(request: web.Request) -> web.Response:
    """`GET /devices/{device_id}`: the device's record (another tenant's: 404)."""
    device_id = request.match_info["device_id"]
    view = await request.app[DEVICES].show(device_id, caller_of(request).tenant)
    return model_response(view)


async def release_device(request: web.Request) -> web.Response:
    """`POST /devices/{device_id}/release` (admin): free a device whose run ended without
    recording its outcome; it becomes FAILED."""
    device_id = request.match_info["device_id"]
    released = await request.app[DEVICES].release(device_id, caller_of(request).tenant)
    return model_response(released)


async def transfer_device(request: web.Request) -> web.Response:
    """`POST /devices/{device_id}/transfer` (admin): give the device to another tenant."""
    device_id = request.match_info["device_id"]
    tenant = caller_of(request).tenant
    await request.app[DEVICES].show(device_id, tenant)  # another tenant's: 404, body or not
    body = await read_model(request, DeviceTransfer)
    moved = await request.app[DEVICES].transfer(device_id, tenant, body.tenant)
    return model_response(moved)
