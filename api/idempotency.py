"""`Idempotency-Key` on every POST that starts something (IETF httpapi draft).

A client that did not get the answer to a start (a timeout, a dropped connection) sends
the same request again with the same key: it gets the first answer (same run, same
`Location`, header `Idempotent-Replayed: true`) and nothing starts twice. Keys are scoped
to the caller's tenant and bind the request they first came with (method, path and
body): the same key with another request is refused (422 IDEMPOTENCY_KEY_REUSED); while
the first request is still being served, a second one is told to wait (409
IDEMPOTENCY_KEY_IN_USE, `Retry-After`). Only accepted starts (2xx) are kept, for
24 hours: after a refusal the client may fix its request and send it with the same key.
"""

from __future__ import annotations

import hashlib
import re

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from api.access import caller_of
from api.bodies import invalid
from api.problems import ApiError
from domain.api_models import FieldError
from domain.errors import ErrorCode
from registry.idempotency import Claimed, IdempotencyKeys, InUse, Replay, Reused

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
"""1 to 255 visible ASCII characters (a UUID is the usual choice)."""
STARTING_ROUTES = frozenset(
    {"start_run", "retry", "start_fleet", "fleet_retry", "start_decommission"}
)
"""The routes that start something: the ones a key makes safe to send again."""
IDEMPOTENCY = web.AppKey("idempotency_keys", IdempotencyKeys)


def idempotency_middleware() -> Middleware:
    """Replays, refuses or records the starts that carry an `Idempotency-Key`."""

    @web.middleware
    async def idempotent(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get(HEADER)
        if (
            key is None
            or request.method != "POST"
            or request.match_info.route.name not in STARTING_ROUTES
            or IDEMPOTENCY not in request.app
        ):
            return await handler(request)
        if not KEY_PATTERN.fullmatch(key):
            raise invalid(
                [
                    FieldError(
                        loc=["header", HEADER],
                        msg="must be 1 to 255 visible ASCII characters",
                        type="string_pattern_mismatch",
                    )
                ],
                detail=f"the {HEADER} header is invalid",
            )
        keys = request.app[IDEMPOTENCY]
        tenant = caller_of(request).tenant
        claim = await keys.claim(tenant, key, await _fingerprint(request))
        if isinstance(claim, Replay):
            headers = {REPLAYED_HEADER: "true"}
            if claim.location:
                headers["Location"] = claim.location
            return web.Response(
                status=claim.status,
                text=claim.body,
                content_type="application/json",
                headers=headers,
            )
        if isinstance(claim, Reused):
            raise ApiError(
                422,
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                f"this {HEADER} was sent with another request in the last 24 hours; "
                "use a new key for a new request",
            )
        if isinstance(claim, InUse):
            raise ApiError(
                409,
                ErrorCode.IDEMPOTENCY_KEY_IN_USE,
                f"a request with this {HEADER} is being served; send it again in a moment",
                headers={"Retry-After": "1"},
            )
        assert isinstance(claim, Claimed)
        try:
            response = await handler(request)
        except BaseException:
            await keys.release(tenant, key)
            raise
        if 200 <= response.status < 300 and isinstance(response, web.Response):
            body = response.body if isinstance(response.body, bytes) else b""
            await keys.complete(
                tenant,
                key,
                status=response.status,
                body=body.decode(),
                location=response.headers.get("Location"),
            )
        else:
            await keys.release(tenant, key)
        return response

    return idempotent


async def _fingerprint(request: web.Request) -> str:
    """What the key binds: the method, the path and the body's bytes."""
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:  # over every route's limit
        raise ApiError(
            413, ErrorCode.PAYLOAD_TOO_LARGE, "the body exceeds the limit of this route"
        ) from None
    digest = hashlib.sha256(f"{request.method} {request.rel_url.raw_path}\n".encode())
    digest.update(body)
    return digest.hexdigest()
