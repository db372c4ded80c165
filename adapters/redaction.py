"""Keeping secrets and credentials out of adapter errors, details and logs."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import httpx

from domain.secrets import MASK


@functools.lru_cache(maxsize=4096)
def public_url(address: str) -> str:
    """`address` without user info, query or fragment: fit for messages and details.

    Cached: every device call names its address, and parsing it twice per call was a
    measurable share of the edge worker's CPU (bench/pipeline.py under py-spy).
    """
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
