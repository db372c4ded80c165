"""Handlers of enrollments (the caller's tenant's allow-list) and of tenant settings."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.access import caller_of
from api.bodies import field_errors, invalid, read_body, read_model
from api.enrollment_csv import parse_enrollment_csv
from api.keys import DEPENDENCIES, ENROLLMENTS
from api.problems import ApiError
from api.responses import model_response
from domain.api_models import FieldError
from domain.enrollments import (
    GroupEnrollmentCreate,
    GroupEnrollmentPatch,
    IndividualEnrollmentCreate,
    IndividualEnrollmentPatch,
    TenantSettingsUpdate,
)
from domain.errors import ErrorCode
from domain.registry import CURSOR_MAX_LENGTH, CURSOR_PATTERN
from services.devices import MAX_PAGE

CSV_CONTENT_TYPE = "text/csv"


class PageQuery(BaseModel):
    """Query parameters of the enrollment listings."""

    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(default=None, max_length=CURSOR_MAX_LENGTH, pattern=CURSOR_PATTERN)
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)


def _page(request: web.Request) -> PageQuery:
    try:
        return PageQuery.model_validate(dict(request.query))
    except ValidationError as error:
        errors = [
            FieldError(loc=["query", *e.loc], msg=e.msg, type=e.type) for e in field_errors(error)
        ]
        raise invalid(errors, detail="invalid query parameters") from None


def _tenant(request: web.Request) -> str:
    return caller_of(request).tenant


def _created(model: BaseModel, location: str) -> web.Response:
    return model_response(model, status=201, headers={"Location": location})


# ---------------------------------------------------------------- individual


async def add_individual(request: web.Request) -> web.Response:
    """`POST /enrollments/individual`: enroll one device (201)."""
    body = await read_model(request, IndividualEnrollmentCreate)
    created = await request.app[ENROLLMENTS].add_individual(_tenant(request), body)
    return _created(created, f"{request.path}/{created.device_id}")


async def import_individuals(request: web.Request) -> web.Response:
    """`POST /enrollments/import` (`text/csv`): create or replace many."""
    if request.content_type != CSV_CONTENT_TYPE:
        raise ApiError(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"send the enrollments as {CSV_CONTENT_TYPE}, not '{request.content_type}'",
        )
    limit = request.app[DEPENDENCIES].settings.api.max_fleet_request_bytes
    enrollments = parse_enrollment_csv(await read_body(request, limit))
    imported = await request.app[ENROLLMENTS].import_individuals(_tenant(request), enrollments)
    return model_response(imported)


async def list_individuals(request: web.Request) -> web.Response:
    """`GET /enrollments/individual`: the tenant's individual enrollments, by device id."""
    page = _page(request)
    listing = await request.app[ENROLLMENTS].list_individuals(
        _tenant(request), limit=page.limit, cursor=page.cursor or None
    )
    return model_response(listing)


async def show_individual(request: web.Request) -> web.Response:
    """`GET /enrollments/individual/{device_id}` (another tenant's: 404)."""
    device_id = request.match_info["device_id"]
    return model_response(await request.app[ENROLLMENTS].individual(_tenant(request), device_id))


async def update_individual(request: web.Request) -> web.Response:
    """`PATCH /enrollments/individual/{device_id}`: change the fields the body sets."""
    device_id = request.match_info["device_id"]
    await request.app[ENROLLMENTS].individual(_tenant(request), device_id)  # 404 before 422
    patch = await read_model(request, IndividualEnrollmentPatch)
    updated = await request.app[ENROLLMENTS].update_individual(_tenant(request), device_id, patch)
    return model_response(updated)


async def delete_individual(request: web.Request) -> web.Response:
    """`DELETE /enrollments/individual/{device_id}` (204)."""
    device_id = request.match_info["device_id"]
    await request.app[ENROLLMENTS].delete_individual(_tenant(request), device_id)
    return web.Response(status=204)


# ---------------------------------------------------------------- group


async def add_group(request: web.Request) -> web.Response:
    """`POST /enrollments/group`: add a group enrollment (201)."""
    body = await read_model(request, GroupEnrollmentCreate)
    created = await request.app[ENROLLMENTS].add_group(_tenant(request), body)
    return _created(created, f"{request.path}/{created.group_id}")


async def list_groups(request: web.Request) -> web.Response:
    """`GET /enrollments/group`: the tenant's group enrollments, by id."""
    page = _page(request)
    listing = await request.app[ENROLLMENTS].list_groups(
        _tenant(request), limit=page.limit, cursor=page.cursor or None
    )
    return model_response(listing)


async def show_group(request: web.Request) -> web.Response:
    """`GET /enrollments/group/{group_id}` (another tenant's: 404)."""
    group_id = request.match_info["group_id"]
    return model_response(await request.app[ENROLLMENTS].group(_tenant(request), group_id))


async def update_group(request: web.Request) -> web.Response:
    """`PATCH /enrollments/group/{group_id}`: change the fields the body sets."""
    group_id = request.match_info["group_id"]
    await request.app[ENROLLMENTS].group(_tenant(request), group_id)  # 404 before 422
    patch = await read_model(request, GroupEnrollmentPatch)
    updated = await request.app[ENROLLMENTS].update_group(_tenant(request), group_id, patch)
    return model_response(updated)


async def delete_group(request: web.Request) -> web.Response:
    """`DELETE /enrollments/group/{group_id}` (204)."""
    group_id = request.match_info["group_id"]
    await request.app[ENROLLMENTS].delete_group(_tenant(request), group_id)
    return web.Response(status=204)


# ---------------------------------------------------------------- settings


async def show_settings(request: web.Request) -> web.Response:
    """`GET /tenant/settings`: the caller's tenant's settings."""
    return model_response(await request.app[ENROLLMENTS].settings(_tenant(request)))


async def put_settings(request: web.Request) -> web.Response:
    """`PUT /tenant/settings` (admin): set the caller's tenant's settings."""
    body = await read_model(request, TenantSettingsUpdate)
    settings = await request.app[ENROLLMENTS].put_settings(
        _tenant(request), enrollment_required=body.enrollment_required
    )
    return model_response(settings)
