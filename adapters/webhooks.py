"""Sending one webhook: a Standard Webhooks signed POST through the outbound policy.

The signature is the `standardwebhooks` library's (`v1,` HMAC-SHA256 over
`<id>.<timestamp>.<body>` with the `whsec_` secret), so receivers verify with any
implementation of the specification. The policy refuses loopback, private and
link-local addresses — checked on the address a name resolves to at connect time —
unless private targets are allowed.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from adapters.errors import clip
from adapters.outbound import OutboundPolicy, OutboundRefused, OutboundRule
from domain.webhooks import BLOCKED_NETWORKS

USER_AGENT = "devprov-webhooks/1"
ANY_PORT = range(1, 65536)


def webhook_policy(*, allow_private: bool) -> OutboundPolicy:
    """https to public addresses; with `allow_private`, http(s) anywhere."""
    everywhere = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
    schemes = ("http", "https") if allow_private else ("https",)
    rules = [OutboundRule(s, network, ANY_PORT) for s in schemes for network in everywhere]
    return OutboundPolicy(rules, blocked=() if allow_private else BLOCKED_NETWORKS)


@dataclass(frozen=True)
class SendResult:
    """How the receiver answered one try (no body, no secret)."""

    delivered: bool
    status_code: int | None
    error: str | None


def sign(
    secret: str,
    message_id: str,
    moment: datetime,
    body: bytes,
    *,
    also: Sequence[str] = (),
) -> dict[str, str]:
    """The Standard Webhooks headers of `body`, signed with `secret` and with each secret
    of `also` (a rotated-out one in its grace period): `webhook-signature` then holds
    the signatures separated by spaces, and a receiver accepts any one it can verify."""
    text = body.decode()
    signature = " ".join(Webhook(s).sign(message_id, moment, text) for s in (secret, *also))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookSender:
    """Posts signed events with one httpx client that obeys the webhook policy.

    Args:
        client: From `webhook_policy(...).client()` (tests may pass another).
        timeout: Seconds a receiver has to answer.
    """

    def __init__(self, client: httpx.AsyncClient, *, timeout: float = 10.0) -> None:
        self._client = client
        self._timeout = timeout

    async def close(self) -> None:
        await self._client.aclose()

    async def send(
        self,
        url: str,
        secret: str,
        message_id: str,
        moment: datetime,
        payload: dict[str, Any],
        *,
        previous_secrets: Sequence[str] = (),
    ) -> SendResult:
        """One try: delivered on any 2xx; never raises for the receiver's failures.
        Signed with `secret` and with each of `previous_secrets` too."""
        body = encode_body(payload)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **sign(secret, message_id, moment, body, also=previous_secrets),
        }
        try:
            response = await self._client.post(
                url, content=body, headers=headers, timeout=self._timeout, follow_redirects=False
            )
        except OutboundRefused as refused:
            return SendResult(False, None, f"refused by the outbound policy: {refused}")
        except httpx.TimeoutException:
            return SendResult(False, None, f"no answer within {self._timeout:g} s")
        except httpx.HTTPError as error:
            return SendResult(False, None, clip(f"{type(error).__name__}: {error}"))
        delivered = 200 <= response.status_code < 300
        why = None if delivered else f"answered {response.status_code}"
        return SendResult(delivered, response.status_code, why)
