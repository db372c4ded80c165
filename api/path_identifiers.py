"""Every identifier in a path is checked in full before any handler sees it."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from api.problems import ApiError
from domain.enrollments import GROUP_ID
from domain.errors import ErrorCode
from domain.identifiers import DEVICE_ID, FLEET_ID, Identifier
from domain.webhooks import EVENT_ID, WEBHOOK_ID

PATH_IDENTIFIERS: dict[str, Identifier] = {
    "device_id": DEVICE_ID,
    "fleet_id": FLEET_ID,
    "group_id": GROUP_ID,
    "webhook_id": WEBHOOK_ID,
    "event_id": EVENT_ID,
}
"""Every path parameter of the API and the kind of identifier it holds."""


def invalid_path_identifier(request: web.BaseRequest) -> Identifier | None:
    """The kind of the first path identifier of `request` that is not valid, if any."""
    match_info = getattr(request, "match_info", None)
    if match_info is None:
        return None
    for name, identifier in PATH_IDENTIFIERS.items():
        value = match_info.get(name)
        if value is not None and not identifier.is_valid(value):
            return identifier
    return None


def path_identifiers_middleware() -> Middleware:
    """422 INVALID_REQUEST for a path whose identifier is not valid (never echoed)."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        invalid = invalid_path_identifier(request)
        if invalid is not None:
            raise ApiError(
                422, ErrorCode.INVALID_REQUEST, f"the path's {invalid.kind} is {invalid.rule}"
            )
        return await handler(request)

    return check
