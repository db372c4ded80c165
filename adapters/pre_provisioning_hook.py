"""Calling a tenant's pre-provisioning hook: a signed HTTPS POST, an allow or a deny back.

Signed like a webhook (Standard Webhooks headers, the hook's own secret). Any failure
to get a verdict — no connection, a TLS certificate the trust store does not verify, a
timeout, a status other than 200, a body that is not `{"allow": ...}` — is
`HookUnavailable` (retryable): the run retries it and then fails closed.
"""

from __future__ import annotations

import ipaddress
import ssl
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from adapters.errors import AdapterError, clip
from adapters.outbound import OutboundPolicy, OutboundRefused, OutboundRule, read_capped
from adapters.webhooks import ANY_PORT, USER_AGENT, encode_body, sign
from domain.errors import ErrorCode
from domain.hooks import HookAnswer
from domain.webhooks import BLOCKED_NETWORKS

ANSWER_LIMIT = 64 * 1024


class HookUnavailable(AdapterError):
    """The hook gave no verdict (retryable; the run fails closed after its retries)."""

    code = ErrorCode.HOOK_UNAVAILABLE
    retryable = True


def hook_policy(*, allow_private: bool) -> OutboundPolicy:
    """https only; public addresses unless `allow_private`."""
    everywhere = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
    rules = [OutboundRule("https", network, ANY_PORT) for network in everywhere]
    return OutboundPolicy(rules, blocked=() if allow_private else BLOCKED_NETWORKS)


def hook_tls(ca_file: Path | None) -> ssl.SSLContext:
    """TLS that verifies the hook's certificate and name (against `ca_file` if given)."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)


class PreProvisioningHookClient:
    """Asks hooks for verdicts over one httpx client.

    Args:
        client: From `hook_policy(...).client(ssl_context=hook_tls(...))`.
        timeout: Seconds a hook has to answer.
    """

    def __init__(self, client: httpx.AsyncClient, *, timeout: float = 5.0) -> None:
        self._client = client
        self._timeout = timeout

    async def close(self) -> None:
        await self._client.aclose()

    async def ask(
        self, url: str, secret: str, message_id: str, moment: datetime, payload: dict[str, Any]
    ) -> HookAnswer:
        """POST `payload`, signed; the hook's answer.

        Raises:
            HookUnavailable: No verdict (see the module's docstring).
            OutboundRefused: The URL is not allowed (not retried).
        """
        body = encode_body(payload)
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": USER_AGENT,
            **sign(secret, message_id, moment, body),
        }
        request = self._client.build_request(
            "POST", url, content=body, headers=headers, timeout=self._timeout
        )
        try:
            response = await self._client.send(request, stream=True, follow_redirects=False)
            try:
                content = await read_capped(response, ANSWER_LIMIT)
            finally:
                await response.aclose()
        except OutboundRefused:
            raise
        except httpx.TimeoutException:
            raise HookUnavailable(f"the hook did not answer within {self._timeout:g} s") from None
        except (httpx.HTTPError, ssl.SSLError) as error:
            raise HookUnavailable(clip(f"the hook is unreachable: {error}")) from None
        except AdapterError as error:
            raise HookUnavailable(f"the hook's answer is unusable: {error}") from None
        if response.status_code != 200:
            raise HookUnavailable(f"the hook answered {response.status_code}, not 200")
        try:
            return HookAnswer.model_validate_json(content)
        except ValidationError:
            raise HookUnavailable(
                'the hook\'s answer is not {"allow": true|false, "reason", "parameters"}'
            ) from None
