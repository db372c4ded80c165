"""Following a Server-Sent Events stream of the API, across dropped connections.

The stream resumes with `Last-Event-ID` after a drop, and an event whose id was
already delivered is never delivered again: a follower sees every event once, in
order, whatever happens to the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx
from httpx_sse import aconnect_sse
from pydantic import BaseModel, ValidationError

from client.errors import ApiUnreachable, DevprovError, ServiceUnavailable
from client.responses import raise_for_problem

ItemT = TypeVar("ItemT", bound=BaseModel)


@dataclass(frozen=True)
class ReconnectPolicy:
    """How a dropped stream is resumed.

    Attributes:
        max_attempts: Consecutive failed reconnections before giving up.
        initial_delay: Wait before the first reconnection (seconds).
        max_delay: Longest wait between reconnections (doubling up to it).
        read_timeout: Longest silence before the connection counts as dropped; the
            API sends a keep-alive comment every 15 s by default.
    """

    max_attempts: int = 8
    initial_delay: float = 0.2
    max_delay: float = 5.0
    read_timeout: float = 45.0

    def delay(self, attempt: int) -> float:
        """Wait before reconnection number `attempt` (1-based)."""
        return min(self.max_delay, self.initial_delay * 2.0 ** (attempt - 1))


class MalformedEvent(DevprovError):
    """The stream carried an event the SDK cannot read."""


class EventStream(Generic[ItemT], AsyncIterator[ItemT]):
    """An async iterator over the events of one stream, reconnecting as needed.

    Args:
        http: The SDK's HTTP client (base URL and key set).
        path: Path of the stream.
        event: SSE event type to read (others are ignored).
        model: Model of each event's `data`.
        is_last: Whether an item ends the stream (e.g. a terminal state).
        last_event_id: Resume after this id (None: from the start).
        policy: Reconnection policy.
        on_reconnect: Called with the id resumed from, each time the stream resumes.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        path: str,
        *,
        event: str,
        model: type[ItemT],
        is_last: Callable[[ItemT], bool],
        last_event_id: int | None = None,
        policy: ReconnectPolicy | None = None,
        on_reconnect: Callable[[int | None], None] | None = None,
    ) -> None:
        self._http = http
        self._path = path
        self._event = event
        self._model = model
        self._is_last = is_last
        self._policy = policy or ReconnectPolicy()
        self._on_reconnect = on_reconnect
        self.last_event_id = last_event_id
        """Id of the newest event delivered (None before the first)."""
        self.reconnections = 0
        """How many times the stream was resumed after a drop."""
        self._items = self._follow()

    def __aiter__(self) -> EventStream[ItemT]:
        return self

    async def __anext__(self) -> ItemT:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        """Stop following (closes the connection)."""
        await self._items.aclose()

    async def _follow(self) -> AsyncGenerator[ItemT]:
        failures = 0
        while True:
            try:
                async with contextlib.aclosing(self._connect_once()) as items:
                    async for item in items:
                        failures = 0
                        yield item
                        if self._is_last(item):
                            return
            except (httpx.TransportError, ServiceUnavailable) as error:
                failures += 1
                if failures > self._policy.max_attempts:
                    raise ApiUnreachable(
                        f"the event stream {self._path} dropped and could not be resumed "
                        f"after {self._policy.max_attempts} attempts: {error}"
                    ) from error
            else:
                failures += 1  # the server ended the stream early (e.g. it restarted)
                if failures > self._policy.max_attempts:
                    raise ApiUnreachable(f"the event stream {self._path} keeps ending early")
            await asyncio.sleep(self._policy.delay(failures))
            self.reconnections += 1
            if self._on_reconnect is not None:
                self._on_reconnect(self.last_event_id)

    async def _connect_once(self) -> AsyncGenerator[ItemT]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        timeout = httpx.Timeout(10.0, read=self._policy.read_timeout)
        async with aconnect_sse(
            self._http, "GET", self._path, headers=headers, timeout=timeout
        ) as source:
            if source.response.status_code != 200:
                await source.response.aread()
                raise_for_problem(source.response)
            async for message in source.aiter_sse():
                if message.event != self._event:
                    continue
                event_id = _event_id(message.id)
                if (
                    event_id is not None
                    and self.last_event_id is not None
                    and event_id <= self.last_event_id
                ):
                    continue  # delivered before the drop
                try:
                    item = self._model.model_validate_json(message.data)
                except (ValidationError, json.JSONDecodeError) as error:
                    raise MalformedEvent(f"unreadable event on {self._path}: {error}") from None
                if event_id is not None:
                    self.last_event_id = event_id
                yield item


def _event_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None
