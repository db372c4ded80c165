"""Reading a Server-Sent Events stream in tests (the wire format, parsed plainly)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    id: str | None
    event: str
    data: dict[str, Any]


async def read_events(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[SseEvent]:
    """Yield the events of the stream at `url` until the server ends it."""
    async with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        assert response.headers["content-type"].startswith("text/event-stream")
        event_id: str | None = None
        name = "message"
        data: list[str] = []
        async for line in response.aiter_lines():
            if line == "":
                if data:
                    yield SseEvent(event_id, name, json.loads("\n".join(data)))
                event_id, name, data = None, "message", []
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "id":
                    event_id = value
                elif field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
