"""Waiting for what zigpy announces: a device joined, finished or failed its interview.

`CoordinatorEvents` is registered as a zigpy application listener; zigpy calls its
methods by name (`device_joined`, `device_initialized`, ...). Callers register a waiter
*before* acting, so an event that follows immediately is never missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from zigpy.device import BaseDevice

logger = logging.getLogger("devprov.adapters.zigbee")


class DeviceEvent(StrEnum):
    JOINED = "joined"
    INTERVIEWED = "interviewed"
    INTERVIEW_FAILED = "interview_failed"
    LEFT = "left"


class CoordinatorEvents:
    """zigpy listener resolving futures per (event, IEEE).

    Args:
        on_connection_lost: Called when zigpy reports the radio connection lost.
    """

    def __init__(self, on_connection_lost: Callable[[Exception], None] | None = None) -> None:
        self._waiters: dict[tuple[DeviceEvent, str], list[asyncio.Future[BaseDevice]]] = {}
        self._on_connection_lost = on_connection_lost
        self._left: set[str] = set()

    def has_left(self, ieee: str) -> bool:
        """True when `ieee` announced it left the network and has not joined since."""
        return ieee in self._left

    def expect(self, events: tuple[DeviceEvent, ...], ieee: str) -> asyncio.Future[BaseDevice]:
        """A future resolved by the first of `events` for `ieee`; `forget` it when done.

        The result is the zigpy device; for `INTERVIEW_FAILED` and `LEFT` the future
        fails with `DeviceEventFailure` carrying the event.
        """
        future: asyncio.Future[BaseDevice] = asyncio.get_running_loop().create_future()
        for event in events:
            self._waiters.setdefault((event, ieee), []).append(future)
        return future

    def forget(self, future: asyncio.Future[BaseDevice]) -> None:
        if not future.done():
            future.cancel()
        for key in list(self._waiters):
            waiters = [w for w in self._waiters[key] if w is not future]
            if waiters:
                self._waiters[key] = waiters
            else:
                del self._waiters[key]

    def _resolve(self, event: DeviceEvent, device: BaseDevice) -> None:
        for future in self._waiters.pop((event, str(device.ieee)), []):
            if future.done():
                continue
            if event in (DeviceEvent.INTERVIEW_FAILED, DeviceEvent.LEFT):
                future.set_exception(DeviceEventFailure(event))
            else:
                future.set_result(device)

    # zigpy listener callbacks -------------------------------------------------------

    def device_joined(self, device: BaseDevice) -> None:
        self._left.discard(str(device.ieee))
        self._resolve(DeviceEvent.JOINED, device)

    def device_initialized(self, device: BaseDevice) -> None:
        self._resolve(DeviceEvent.INTERVIEWED, device)

    def device_init_failure(self, device: BaseDevice) -> None:
        self._resolve(DeviceEvent.INTERVIEW_FAILED, device)

    def device_left(self, device: BaseDevice) -> None:
        self._left.add(str(device.ieee))
        self._resolve(DeviceEvent.LEFT, device)

    def connection_lost(self, exc: Exception, *_: Any) -> None:
        logger.warning("connection to the Zigbee radio lost: %s", exc)
        if self._on_connection_lost is not None:
            self._on_connection_lost(exc)


class DeviceEventFailure(Exception):
    """The device reported an event that ends the wait unsuccessfully."""

    def __init__(self, event: DeviceEvent) -> None:
        super().__init__(event.value)
        self.event = event
