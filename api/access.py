"""Authentication, authorisation and per-key limits of every route."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from api.auth import Caller, KeyStore, Scope
from api.console import CONSOLE_PREFIX
from api.keys import DEPENDENCIES
from api.problems import ApiError
from api.stream_tickets import redeem
from domain.api_models import API_PREFIX
from domain.errors import ErrorCode

CALLER = web.RequestKey("caller", Caller)
ANONYMOUS_ADMIN = Caller(key_id="anonymous", tenant="default", scopes=frozenset({Scope.ADMIN}))

METRICS_PATH = "/metrics"
_PROVISION_ACTIONS = (
    "/provision",
    "/provision/credentials",
    "/provision/forget-credentials",
    "/provision/client-ble-result",
)
_OPERATE_ACTIONS = ("/retry", "/cancel", "/skip", "/decommission")
_READ_ACTIONS = ("/strategies/match", "/stream-ticket")
ENROLLMENTS_PREFIX = f"{API_PREFIX}/enrollments/"
WEBHOOKS_PATH = f"{API_PREFIX}/webhooks"


def required_scope(request: web.Request) -> Scope:
    """Reading (and asking which strategy fits a device) needs `read`; starting runs and
    answering prompts `provision`; retry, skip, cancel and decommission `operate`;
    `/metrics` (every tenant's counts) `metrics`; reading or changing enrollments
    `enroll`; reading or changing webhooks (and redelivering) `webhooks`; changing
    tenant settings `admin`."""
    if request.path == METRICS_PATH:
        return Scope.METRICS
    if request.path.startswith(ENROLLMENTS_PREFIX):
        return Scope.ENROLL
    if request.path == WEBHOOKS_PATH or request.path.startswith(f"{WEBHOOKS_PATH}/"):
        return Scope.WEBHOOKS
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return Scope.READ
    if request.path.endswith(_READ_ACTIONS):
        return Scope.READ
    path = request.path
    if path.endswith(_OPERATE_ACTIONS):
        return Scope.OPERATE
    if path.endswith(_PROVISION_ACTIONS):
        return Scope.PROVISION
    return Scope.ADMIN


def _presented_key(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def stream_resource(request: web.Request) -> str | None:
    """What a stream route streams, as tickets name it (`devices/<id>`, `fleets/<id>`)."""
    if not request.path.endswith(("/events", "/ws", "/stream-ticket")):
        return None
    if "device_id" in request.match_info:
        return f"devices/{request.match_info['device_id']}"
    if "fleet_id" in request.match_info:
        return f"fleets/{request.match_info['fleet_id']}"
    return None


def _ticket_holder(request: web.Request, keys: KeyStore) -> Caller | None:
    # Browsers' EventSource and WebSocket cannot set headers: a stream takes a ticket
    # (never the API key) in its URL.
    ticket = request.query.get("ticket")
    resource = stream_resource(request)
    if not ticket or resource is None or request.path.endswith("/stream-ticket"):
        return None
    return redeem(keys, ticket, resource)


def _is_console(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(f"{CONSOLE_PREFIX}/")


def auth_middleware() -> Middleware:
    """401 without a valid key, 403 without the scope; the caller is kept on the request."""

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        auth = request.app[DEPENDENCIES].auth
        if auth is None:
            request[CALLER] = ANONYMOUS_ADMIN
            return await handler(request)
        if request.path in auth.public_paths or _is_console(request.path):
            return await handler(request)
        presented = _presented_key(request)
        if presented:
            caller = auth.keys.authenticate(presented)
        else:
            caller = _ticket_holder(request, auth.keys)
        if caller is None:
            raise ApiError(
                401,
                ErrorCode.UNAUTHENTICATED,
                "send a valid API key: Authorization: Bearer <key> (event streams also "
                "take ?ticket= from POST .../stream-ticket)",
                headers={"WWW-Authenticate": 'Bearer realm="devprov"'},
            )
        scope = required_scope(request)
        if not caller.may(scope):
            raise ApiError(403, ErrorCode.FORBIDDEN, f"this key lacks the '{scope.value}' scope")
        request[CALLER] = caller
        return await handler(request)

    return authenticate


def caller_of(request: web.Request) -> Caller:
    """The authenticated caller of `request`."""
    caller: Caller = request[CALLER]
    return caller


def take_start(request: web.Request, devices: int = 1) -> None:
    """Count a start of `devices` devices against the caller's limits (429
    RATE_LIMITED past them)."""
    auth = request.app[DEPENDENCIES].auth
    if auth is None:
        return
    wait = auth.limits.take_start(caller_of(request).key_id, devices)
    if wait is None:
        return
    if math.isinf(wait):
        raise ApiError(
            429,
            ErrorCode.RATE_LIMITED,
            f"{devices} devices are more than this key may start in an hour "
            f"({auth.limits.devices_per_hour}); split the fleet",
        )
    raise ApiError(
        429,
        ErrorCode.RATE_LIMITED,
        f"too many starts for this key; try again in {wait:.0f} s",
        headers={"Retry-After": str(max(1, round(wait)))},
    )


@asynccontextmanager
async def stream_slot(request: web.Request) -> AsyncIterator[None]:
    """Hold one of the caller's concurrent stream slots (429 TOO_MANY_STREAMS past them)."""
    auth = request.app[DEPENDENCIES].auth
    if auth is None:
        yield
        return
    key_id = caller_of(request).key_id
    if not auth.limits.open_stream(key_id):
        raise ApiError(429, ErrorCode.TOO_MANY_STREAMS, "this key follows too many runs at once")
    try:
        yield
    finally:
        auth.limits.close_stream(key_id)
