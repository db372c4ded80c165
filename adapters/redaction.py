"""Keeping secrets and credentials out of adapter errors, details and logs."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from domain.secrets import MASK


def public_url(address: str) -> str:
    """`address` without user info, query or fragment: fit for messages and details."""
    try:
        url = httpx.URL(address)
    except httpx.InvalidURL:
        return "<invalid address>"
    return str(url.copy_with(username=None, password=None, query=None, fragment=None))


def redact(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret masked: a peer may echo a request in its error message."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
