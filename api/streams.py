"""One progress poller per run, fanned out to every subscriber (SSE and WebSocket).

A query on a workflow that is not in a worker's cache replays its whole history, so
the API must not run one query loop per subscriber: `ProgressHub` runs a single
poller per run, started by its first subscriber and stopped when the last one leaves
or once the run reached a terminal state.

A run is a workflow id *and* a run id. A retry after a run ended starts a new run
under the same workflow id, whose events are numbered from 1 again; a poller that
followed "the latest run of the workflow id" would slide from one run into the next
unseen, never deliver the first run's end, and hide the new run's events behind the
sequence numbers the first run had already used (issue 15, case 4). So each poller
queries one run id, and a stream follows the run that was current when it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, Protocol, TypeVar

from api.problems import ApiError
from domain.errors import ErrorCode

logger = logging.getLogger("devprov.api.streams")

MAX_BACKOFF_SECONDS = 2.0
"""Longest pause between two polls while the query keeps failing (a worker restarting,
Temporal briefly away): one query per run every 2 s at most, whatever the number of
subscribers, and a view at most that much behind once the worker answers again (the
explorer saw a stream 12 s stale after a worker kill with 10 s)."""
FOLLOW_UP_SHARE = 0.2
"""Without a change feed: right after a query showed a change, the next one comes after
this share of the interval, and the pause doubles back to the interval while nothing
changes (a run that just moved usually moves again soon, a run that waits for a person
or a device does not). With one: the shortest pause between two queries, during which
the changes the feed reports are gathered into one query. Measured in
`bench.progress_streaming`."""


class Followable(Protocol):
    """A snapshot the hub can follow: a sequence that grows, and an end."""

    @property
    def last_sequence(self) -> int: ...

    @property
    def finished(self) -> bool: ...


SnapshotT = TypeVar("SnapshotT", bound=Followable)


class Subscription(Generic[SnapshotT]):
    """One subscriber's view of a run's poller: the newest snapshot, when it changes."""

    def __init__(self, poller: _Poller[SnapshotT]) -> None:
        self._poller = poller
        self._seen = 0
        self._wake = asyncio.Event()
        self._closed = False

    async def next(self) -> SnapshotT | None:
        """Wait for a snapshot newer than the last one returned.

        Returns `None` once the stream is over: the run ended and its last snapshot was
        delivered, the subscription was closed, or the hub shut down.

        Raises:
            ApiError: the run does not exist (404) or cannot be polled.
        """
        while True:
            poller = self._poller
            if self._closed:
                return None
            if poller.version > self._seen:
                self._seen = poller.version
                if poller.error is not None:
                    raise poller.error
                return poller.latest
            if poller.finished:
                return None
            self._wake.clear()
            await self._wake.wait()

    def close(self) -> None:
        """End this subscription: a pending `next()` returns `None`."""
        self._closed = True
        self._wake.set()

    def _notify(self) -> None:
        self._wake.set()


RunKey = tuple[str, str | None]
"""A run: its workflow id and run id (None: whichever run is the latest)."""


class _Poller(Generic[SnapshotT]):
    def __init__(self, key: RunKey) -> None:
        self.key = key
        workflow_id, run_id = key
        self.name = f"{workflow_id}/{run_id or 'latest'}"
        self.latest: SnapshotT | None = None
        self.error: ApiError | None = None
        self.version = 0
        self.finished = False
        self.subscribers: set[Subscription[SnapshotT]] = set()
        self.task: asyncio.Task[None] | None = None
        self.nudged = asyncio.Event()
        """Set when the run has just been told something, or its change feed reports a
        workflow task done: query it now, not at the end of the pause."""
        self.watched = False
        """Whether its change feed is running (else the poller follows up by itself)."""

    def publish(self, snapshot: SnapshotT | None, error: ApiError | None = None) -> None:
        self.latest = snapshot
        self.error = error
        self.version += 1
        self._notify_all()

    def finish(self) -> None:
        self.finished = True
        self._notify_all()

    def _notify_all(self) -> None:
        for subscriber in self.subscribers:
            subscriber._notify()


class ProgressHub(Generic[SnapshotT]):
    """Shares one `progress` query loop per run among its subscribers.

    Args:
        fetch: Runs the progress query of a run (workflow id, run id); raises `ApiError`.
        interval: Seconds between two queries while the run does not change (sooner
            right after a change: `FOLLOW_UP_SHARE`).
        changes: A run's change feed (workflow id, run id): yields whenever the run may
            have changed (`services.history_watch`). Each poller follows it and queries
            when it yields, the changes of `FOLLOW_UP_SHARE` of the interval gathered
            into one query; the interval's query stays, should the feed stop.
    """

    def __init__(
        self,
        fetch: Callable[[str, str | None], Awaitable[SnapshotT]],
        interval: float,
        changes: Callable[[str, str | None], AsyncIterator[object]] | None = None,
    ) -> None:
        self._fetch = fetch
        self._interval = interval
        self._changes = changes
        self._pollers: dict[RunKey, _Poller[SnapshotT]] = {}
        self._closed = False
        self.polls = 0
        """Progress queries made so far (for the metrics)."""

    @property
    def subscribers(self) -> int:
        """How many clients follow a run now (SSE and WebSocket)."""
        return sum(len(p.subscribers) for p in self._pollers.values())

    @property
    def active_pollers(self) -> int:
        """How many runs are being polled now."""
        return len(self._pollers)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, workflow_id: str, run_id: str | None = None
    ) -> AsyncIterator[Subscription[SnapshotT]]:
        """Follow one run for the duration of the `async with` block.

        Pass the run id the caller resolved (e.g. from a describe): without it the
        poller follows whichever run of `workflow_id` is the latest at each query,
        which mixes runs once a retry starts a new one.
        """
        if self._closed:
            raise ApiError(503, ErrorCode.TEMPORAL_UNAVAILABLE, "the API is shutting down")
        key: RunKey = (workflow_id, run_id)
        poller = self._pollers.get(key)
        if poller is None:
            poller = _Poller[SnapshotT](key)
            self._pollers[key] = poller
            poller.task = asyncio.create_task(
                self._poll(poller), name=f"progress-poller:{poller.name}"
            )
        subscription = Subscription[SnapshotT](poller)
        poller.subscribers.add(subscription)
        try:
            yield subscription
        finally:
            subscription.close()
            poller.subscribers.discard(subscription)
            if not poller.subscribers:
                await self._stop(poller)

    def nudge(self, workflow_id: str) -> None:
        """The run `workflow_id` has just been told something (credentials, a retry, a
        cancel) and is about to change: its pollers query it now rather than at the
        end of their pause, so its subscribers see the change without waiting for the
        next poll. One query more per action at most; none without subscribers."""
        for (polled, _), poller in self._pollers.items():
            if polled == workflow_id:
                poller.nudged.set()

    async def close(self) -> None:
        """Stop every poller and end every subscription (on application shutdown)."""
        self._closed = True
        for poller in list(self._pollers.values()):
            for subscription in list(poller.subscribers):
                subscription.close()
            await self._stop(poller)

    async def _stop(self, poller: _Poller[SnapshotT]) -> None:
        if self._pollers.get(poller.key) is poller:
            del self._pollers[poller.key]
        task = poller.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _poll(self, poller: _Poller[SnapshotT]) -> None:
        last_sequence = -1
        delay = self._interval
        watcher: asyncio.Task[None] | None = None
        if self._changes is not None:
            poller.watched = True
            watcher = asyncio.create_task(self._watch(poller), name=f"progress-watch:{poller.name}")
        try:
            while True:
                try:
                    self.polls += 1
                    snapshot = await self._fetch(*poller.key)
                except ApiError as problem:
                    if problem.code is ErrorCode.RUN_NOT_FOUND or poller.latest is None:
                        poller.publish(None, problem)
                        return
                    # Transient (Temporal or workers briefly unavailable): keep the
                    # subscribers and try again, backing off up to MAX_BACKOFF.
                    logger.warning("polling %s failed: %s", poller.name, problem.detail)
                    delay = min(delay * 2, max(MAX_BACKOFF_SECONDS, self._interval))
                else:
                    changed = snapshot.last_sequence != last_sequence
                    if changed:
                        last_sequence = snapshot.last_sequence
                        poller.publish(snapshot)
                    if snapshot.finished:
                        return
                    if poller.watched:
                        # The feed says when to ask again; gather what it reports
                        # meanwhile into one query.
                        await asyncio.sleep(self._interval * FOLLOW_UP_SHARE)
                        delay = self._interval * (1 - FOLLOW_UP_SHARE)
                    elif changed:
                        delay = self._interval * FOLLOW_UP_SHARE
                    else:
                        delay = min(delay * 2, self._interval)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poller.nudged.wait(), delay)
                poller.nudged.clear()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("progress poller of %s crashed", poller.name)
            poller.publish(
                None,
                ApiError(500, ErrorCode.INTERNAL_ERROR, "following the run failed unexpectedly"),
            )
        finally:
            if watcher is not None:
                watcher.cancel()
            poller.finish()
            if self._pollers.get(poller.key) is poller:
                del self._pollers[poller.key]

    async def _watch(self, poller: _Poller[SnapshotT]) -> None:
        """Nudge `poller` whenever its run's change feed yields; when the feed fails or
        ends, the poller follows up by itself again."""
        assert self._changes is not None
        try:
            async for _ in self._changes(*poller.key):
                poller.nudged.set()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the query loop reports what is wrong with the run
            logger.info("the change feed of %s stopped: %s", poller.name, error)
        finally:
            poller.watched = False
            poller.nudged.set()  # one more query, now that no feed says when
