"""Codec server: lets an authorised person read encrypted payloads in the Temporal Web UI.

The Web UI (and `temporal ... --codec-endpoint`) posts payloads to `<endpoint>/decode`
and `<endpoint>/encode` in Temporal's JSON form. Only callers holding the token decode:

- `http://<host>:<port>/<token>/codec` — a capability URL, for a person's browser (set
  it under "Data Encoder" in the Web UI) — or
- `http://<host>:<port>/codec` with `Authorization: Bearer <token>` (the CLI's
  `--codec-auth`).

Anyone else gets 401 and sees ciphertext. CORS admits the Web UI's origin only.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

CODEC_KEY = web.AppKey("codec", PayloadCodec)
TOKEN_KEY = web.AppKey("codec_token", str)
ORIGIN_KEY = web.AppKey("ui_origin", str)

MAX_BODY_BYTES = 8 * 1024 * 1024
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"


def _authorised(request: web.Request) -> bool:
    token = request.app[TOKEN_KEY]
    in_path = request.match_info.get("token")
    if in_path is not None:
        return hmac.compare_digest(in_path, token)
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def _cors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    origin = request.app[ORIGIN_KEY]
    if request.headers.get("Origin") == origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Vary"] = "Origin"
    return response


def _handler(
    transform: Callable[[PayloadCodec, Payloads], Awaitable[Payloads]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return _cors(request, web.Response(status=204))
        if not _authorised(request):
            return _cors(
                request, web.json_response({"error": "a valid codec token is required"}, status=401)
            )
        try:
            payloads = json_format.Parse(await request.text(), Payloads())
        except (json_format.ParseError, UnicodeDecodeError):
            return _cors(request, web.json_response({"error": "not a Payloads JSON"}, status=400))
        try:
            result = await transform(request.app[CODEC_KEY], payloads)
        except ValueError as error:  # e.g. a payload naming a key the ring lacks
            return _cors(request, web.json_response({"error": str(error)}, status=422))
        body = json_format.MessageToJson(result)
        return _cors(request, web.Response(text=body, content_type="application/json"))

    return handle


async def _encode(codec: PayloadCodec, payloads: Payloads) -> Payloads:
    return Payloads(payloads=await codec.encode(list(payloads.payloads)))


async def _decode(codec: PayloadCodec, payloads: Payloads) -> Payloads:
    return Payloads(payloads=await codec.decode(list(payloads.payloads)))


def create_codec_app(codec: PayloadCodec, *, token: str, ui_origin: str) -> web.Application:
    """The codec server application (token-protected, CORS for `ui_origin`)."""
    if len(token) < 16:
        raise ValueError("use a codec token of at least 16 characters")
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[CODEC_KEY] = codec
    app[TOKEN_KEY] = token
    app[ORIGIN_KEY] = ui_origin
    encode, decode = _handler(_encode), _handler(_decode)
    for prefix in ("/codec", "/{token}/codec"):
        app.router.add_route("*", f"{prefix}/encode", encode)
        app.router.add_route("*", f"{prefix}/decode", decode)
    return app


__all__ = ["create_codec_app"]
