"""Stream tickets: what a browser puts in an event stream's URL instead of its API key.

EventSource and WebSocket cannot send headers, so a stream's credential must ride in its
URL, where proxies, browser histories and access logs keep it. A ticket is made for that:
`POST .../stream-ticket` (with the key in the header) returns an opaque token valid for
the streams of one device's run (or one fleet's), to be opened within a minute, by
that key's tenant only.

A ticket is stateless: the id of the key that asked for it, what it opens and when it
expires, signed with HMAC-SHA-256 under a key derived from the stored hash of that key's
secret. Any API replica holding the same keys checks it; rotating or removing the key
voids its tickets; nothing is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from api.auth import Caller, KeyStore, Scope

TICKET_SECONDS = 60
_CONTEXT = b"devprov stream ticket v1"


@dataclass(frozen=True)
class StreamTicket:
    """A ticket and when it stops opening streams (Unix seconds)."""

    token: str
    expires_at: int


def _signing_key(secret_sha256: str) -> bytes:
    return hmac.new(bytes.fromhex(secret_sha256), _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(keys: KeyStore, caller: Caller, resource: str, now: float | None = None) -> StreamTicket:
    """A ticket for `caller` to open the streams of `resource` (e.g. `devices/d1`)."""
    stored = keys.stored(caller.key_id)
    if stored is None:
        raise LookupError("tickets are issued to stored keys only")
    expires = int(time.time() if now is None else now) + TICKET_SECONDS
    payload = json.dumps({"k": caller.key_id, "r": resource, "e": expires}).encode()
    signature = hmac.new(_signing_key(stored.secret_sha256), payload, hashlib.sha256).digest()
    return StreamTicket(f"{_b64(payload)}.{_b64(signature)}", expires)


def redeem(keys: KeyStore, token: str, resource: str, now: float | None = None) -> Caller | None:
    """The caller a ticket stands for, read-only, if it is genuine, unexpired and made
    for `resource`; else None."""
    try:
        encoded_payload, encoded_signature = token.split(".")
        payload = _unb64(encoded_payload)
        claims = json.loads(payload)
        key_id, made_for, expires = claims["k"], claims["r"], claims["e"]
        signature = _unb64(encoded_signature)
    except (ValueError, KeyError, TypeError):
        return None
    stored = keys.stored(key_id) if isinstance(key_id, str) else None
    if stored is None:
        return None
    expected = hmac.new(_signing_key(stored.secret_sha256), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        return None
    if made_for != resource or not isinstance(expires, int):
        return None
    if (time.time() if now is None else now) > expires:
        return None
    return Caller(stored.key_id, stored.tenant, frozenset({Scope.READ}))


__all__ = ["TICKET_SECONDS", "StreamTicket", "issue", "redeem"]
