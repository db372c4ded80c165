"""Codec server: lets an authorised person read encrypted payloads in the Temporal Web UI.

The Web UI (and `temporal ... --codec-endpoint`) posts payloads to `<endpoint>/decode`
and `<endpoint>/encode` in Temporal's JSON form, at `http://<host>:<port>/codec`. Only
callers sending `Authorization: Bearer <token>` decode: the CLI's `--codec-auth`, the
Web UI's forwarded access token, or a proxy in front that adds it. No token ever goes in
a URL. Anyone else gets 401 and sees ciphertext. CORS admits the Web UI's origin only.

The local stack (`make run`) also trusts requests from the local Web UI's origin without
a token (`trust_ui_origin`), so that its UI decodes out of the box; it serves on loopback
only, where every local process is trusted anyway (docs/security.md).
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
TRUST_UI_ORIGIN_KEY = web.AppKey("trust_ui_origin", bool)

MAX_BODY_BYTES = 8 * 1024 * 1024
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"


def _authorised(request: web.Request) -> bool:
    if (
        request.app[TRUST_UI_ORIGIN_KEY]
        and request.headers.get("Origin") == request.app[ORIGIN_KEY]
    ):
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    # As bytes: a header may hold any character, compare_digest takes ASCII text only.
    presented = given.strip().encode("utf-8", "surrogateescape")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented, request.app[TOKEN_KEY].encode()
    )


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


def create_codec_app(
    codec: PayloadCodec, *, token: str, ui_origin: str, trust_ui_origin: bool = False
) -> web.Application:
    """The codec server application: bearer-token protected, CORS for `ui_origin`;
    with `trust_ui_origin` (the local stack only), that origin needs no token."""
    if len(token) < 16 or not token.isascii():
        raise ValueError("use a codec token of at least 16 ASCII characters")
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[CODEC_KEY] = codec
    app[TOKEN_KEY] = token
    app[ORIGIN_KEY] = ui_origin
    app[TRUST_UI_ORIGIN_KEY] = trust_ui_origin
    app.router.add_route("*", "/codec/encode", _handler(_encode))
    app.router.add_route("*", "/codec/decode", _handler(_decode))
    return app


__all__ = ["create_codec_app"]
