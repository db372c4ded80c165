"""Activities that poll until something happens.

They heartbeat while they wait, so that cancellation reaches them, and give up just
before their start-to-close deadline with what they last saw, so that the workflow gets
a failure that says why rather than a bare timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import activity

from adapters.cloud_errors import CloudRateLimited
from adapters.errors import AdapterError

T = TypeVar("T")


def give_up_at(poll: float) -> float:
    """The event-loop time at which the running activity stops polling: its start-to-close
    budget less two polls and a second (at least one poll from now)."""
    info = activity.info()
    budget = (info.start_to_close_timeout or timedelta(seconds=30)).total_seconds()
    return asyncio.get_running_loop().time() + max(budget - 2 * poll - 1.0, poll)


async def poll_cloud_until(
    read: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    poll: float,
    waiting: str,
    timed_out: Callable[[T], AdapterError],
) -> T:
    """Read from a cloud until `done` holds for what it answers, and return that.

    A throttled read is waited out as the cloud asked: reading is not worth failing the
    step. Raises `timed_out(last answer)` once the activity's time is nearly up.
    """
    deadline = give_up_at(poll)
    loop = asyncio.get_running_loop()
    while True:
        try:
            seen = await read()
        except CloudRateLimited as limited:
            activity.heartbeat("the cloud asked to slow down")
            await asyncio.sleep(limited.retry_after or poll)
            continue
        if done(seen):
            return seen
        activity.heartbeat(waiting)
        if loop.time() >= deadline:
            raise timed_out(seen)
        await asyncio.sleep(poll)
