"""What the simulators' control APIs (`/_sim/...`) share: their JSON errors and bodies."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def control_error(status: int, code: str, message: str, **extra: object) -> web.HTTPException:
    """An error to raise: `{"error": code, "message": message, ...extra}` with `status`."""
    exc = web.HTTPException(
        text=json.dumps({"error": code, "message": message, **extra}),
        content_type="application/json",
    )
    exc.set_status(status)
    return exc


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's body, which must be a JSON object (400 unparsable, 422 otherwise)."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise control_error(400, "malformed_json", "request body is not JSON") from None
    if not isinstance(body, dict):
        raise control_error(422, "invalid_body", "the body must be a JSON object")
    return body
