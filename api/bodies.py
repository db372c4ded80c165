"""Reading JSON request bodies into domain models, with problem responses on failure."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.keys import DEPENDENCIES
from api.problems import ApiError
from domain.api_models import FieldError
from domain.errors import ErrorCode

ModelT = TypeVar("ModelT", bound=BaseModel)


def field_errors(error: ValidationError) -> list[FieldError]:
    """The errors of `error` without the submitted values.

    pydantic puts the offending `input` (which may be a passphrase) and a `ctx` in
    each error: both are dropped so that no submitted value is ever echoed.
    """
    return [
        FieldError(loc=list(item["loc"]), msg=item["msg"], type=item["type"])
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]


def invalid(errors: list[FieldError], detail: str = "the request body is invalid") -> ApiError:
    """A 422 INVALID_REQUEST problem listing `errors`."""
    return ApiError(
        422,
        ErrorCode.INVALID_REQUEST,
        detail,
        errors=[e.model_dump() for e in errors],
    )


async def read_body(request: web.Request, limit: int | None = None) -> bytes:
    """The body of `request`, at most `limit` bytes (default: the setting).

    Raises:
        ApiError: 413 above the size limit.
    """
    if limit is None:
        limit = request.app[DEPENDENCIES].settings.api.max_request_bytes
    too_large = ApiError(
        413, ErrorCode.PAYLOAD_TOO_LARGE, f"the body exceeds the limit of {limit} bytes"
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    if len(raw) > limit:
        raise too_large
    return raw


async def read_json(request: web.Request, limit: int | None = None) -> Any:
    """The decoded JSON body of `request`, at most `limit` bytes (default: the setting).

    Raises:
        ApiError: 415 if the body is not declared as JSON, 413 above the size
            limit, 400 if it does not parse.
    """
    content_type = request.content_type
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"send the body as application/json, not '{content_type}'",
        )
    raw = await read_body(request, limit)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(
            400, ErrorCode.MALFORMED_JSON, f"the body is not valid JSON: {_position(error)}"
        ) from None
    except RecursionError:
        # A body of a few KiB of `[[[[...` exhausts the parser's stack: a 400, not a 500.
        raise ApiError(
            400, ErrorCode.MALFORMED_JSON, "the body is nested too deeply to be a request"
        ) from None


def _position(error: UnicodeDecodeError | json.JSONDecodeError) -> str:
    # Only the position: JSONDecodeError's message is safe, but its `doc` is the body.
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    return "it is not UTF-8"


async def read_model(
    request: web.Request,
    model: type[ModelT],
    prepare: Callable[[Any], Any] | None = None,
    *,
    limit: int | None = None,
) -> ModelT:
    """Read the body of `request` as `model`.

    Args:
        request: The request.
        model: pydantic model of the body.
        prepare: Adjusts the decoded JSON before validation (e.g. fills a path
            parameter in); may raise `ApiError`.

    Raises:
        ApiError: see `read_json`; 422 INVALID_REQUEST when the body does not validate.
    """
    data = await read_json(request, limit)
    if prepare is not None:
        data = prepare(data)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid(field_errors(error)) from None
