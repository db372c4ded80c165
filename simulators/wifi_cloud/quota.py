"""Request quotas and rate meters over a sliding one-second window.

A quota of N per second admits at most N requests in *any* window of one second. That is
the statement the tests and the benchmark check on the simulator's counters; a token
bucket of N tokens refilled at N per second would let up to 2N through within one second
(a full bucket plus a second of refill), so it is not used here.
"""

from __future__ import annotations

from collections import deque

WINDOW_SECONDS = 1.0


class SlidingWindowQuota:
    """At most `limit` admissions in any window of `window` seconds.

    Time is passed in (seconds on a monotonic clock), so the quota is tested without
    sleeping. An admission at `t` counts until `t + window`, excluded.
    """

    def __init__(self, limit: int, window: float = WINDOW_SECONDS) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window <= 0:
            raise ValueError("window must be positive")
        self.limit = limit
        self.window = window
        self._admitted: deque[float] = deque()

    def _forget_before(self, now: float) -> None:
        while self._admitted and self._admitted[0] <= now - self.window:
            self._admitted.popleft()

    def wait_time(self, now: float) -> float:
        """Seconds until one more request may be admitted; 0 when it may be now."""
        self._forget_before(now)
        if len(self._admitted) < self.limit:
            return 0.0
        oldest_that_must_leave = self._admitted[len(self._admitted) - self.limit]
        return max(0.0, oldest_that_must_leave + self.window - now)

    def admit(self, now: float) -> None:
        """Count one admission at `now`; call only when `wait_time(now)` is 0."""
        self._forget_before(now)
        if len(self._admitted) >= self.limit:
            raise RuntimeError("quota exhausted: check wait_time() before admit()")
        self._admitted.append(now)

    def try_admit(self, now: float) -> float:
        """Admit one request if the quota allows: 0.0, else the seconds to wait."""
        wait = self.wait_time(now)
        if wait == 0.0:
            self.admit(now)
        return wait


class RateMeter:
    """Counts events over a sliding window and remembers the highest count seen."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self.window = window
        self.total = 0
        self.peak = 0
        self._events: deque[float] = deque()

    def record(self, now: float) -> None:
        """Count one event at `now`."""
        while self._events and self._events[0] <= now - self.window:
            self._events.popleft()
        self._events.append(now)
        self.total += 1
        self.peak = max(self.peak, len(self._events))
