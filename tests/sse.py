"""Reading Server-Sent Events in tests (the wire format, parsed plainly)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    """One parsed Server-Sent Event."""

    id: str | None
    event: str | None
    data: dict[str, Any]


def parse_block(lines: list[str]) -> SseEvent | None:
    """One event from the lines of a block; None for a block of comments (pings)."""
    fields: dict[str, list[str]] = {}
    for line in lines:
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))
    if "data" not in fields:
        return None
    return SseEvent(
        id=fields.get("id", [None])[-1],
        event=fields.get("event", [None])[-1],
        data=json.loads("\n".join(fields["data"])),
    )


def parse_sse(text: str) -> list[SseEvent]:
    """Parse a whole SSE body."""
    blocks = text.replace("\r\n", "\n").split("\n\n")
    return [event for block in blocks if (event := parse_block(block.split("\n")))]


async def read_events(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[SseEvent]:
    """Yield the events of the stream at `url` as they arrive, until the server ends it."""
    async with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        assert response.headers["content-type"].startswith("text/event-stream")
        block: list[str] = []
        async for line in response.aiter_lines():
            if line:
                block.append(line)
                continue
            event = parse_block(block)
            block = []
            if event is not None:
                yield event
