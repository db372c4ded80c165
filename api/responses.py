"""JSON responses from pydantic models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiohttp import web
from pydantic import BaseModel


def model_response(
    model: BaseModel, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """`model` as an `application/json` response."""
    return web.Response(
        status=status,
        text=model.model_dump_json(),
        content_type="application/json",
        headers=headers,
    )


def models_response(models: Sequence[BaseModel]) -> web.Response:
    """A JSON array of `models`."""
    body = "[" + ",".join(model.model_dump_json() for model in models) + "]"
    return web.Response(text=body, content_type="application/json")
