"""Replaying the first answer to a request retried with the same `Idempotency-Key`.

Keys are scoped per client. A key names one request: its method, path and body (the
fingerprint). The same key with the same fingerprint replays the stored answer without
running the request again; with another fingerprint it is refused. Only successful
answers are stored: a request that failed changed nothing and may be tried again with the
same key. Entries expire after a time to live, as real APIs forget keys after a day.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(Exception):
    """The key was first used for another request (method, path or body differ)."""


@dataclass(frozen=True)
class StoredAnswer:
    """A successful answer, as sent the first time."""

    status: int
    body: bytes


@dataclass(frozen=True)
class _Entry:
    fingerprint: str
    answer: StoredAnswer
    expires_at: float


def request_fingerprint(method: str, path: str, body: object) -> str:
    """SHA-256 of the method, path and canonical JSON body; holds no secret in clear."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def valid_key(key: str) -> bool:
    """Keys are 1 to 255 visible ASCII characters."""
    return 0 < len(key) <= MAX_KEY_LENGTH and all(33 <= ord(c) <= 126 for c in key)


class IdempotencyStore:
    """Answers stored by `(client, key)` for `ttl` seconds of a monotonic clock."""

    def __init__(self, ttl: float) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.ttl = ttl
        self.replays = 0
        self.mismatches = 0
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self, now: float) -> None:
        # Entries are kept in insertion order and share one ttl: the oldest expire first.
        while self._entries:
            scope_key, entry = next(iter(self._entries.items()))
            if entry.expires_at > now:
                break
            del self._entries[scope_key]

    def lookup(self, client: str, key: str, fingerprint: str, now: float) -> StoredAnswer | None:
        """The stored answer to replay, or None when the request must run.

        Raises:
            IdempotencyKeyReused: `key` was used by `client` for another request.
        """
        self._expire(now)
        entry = self._entries.get((client, key))
        if entry is None:
            return None
        if entry.fingerprint != fingerprint:
            self.mismatches += 1
            raise IdempotencyKeyReused(key)
        self.replays += 1
        return entry.answer

    def remember(
        self, client: str, key: str, fingerprint: str, answer: StoredAnswer, now: float
    ) -> None:
        """Store the first successful answer to the request named by `key`."""
        self._expire(now)
        self._entries.setdefault((client, key), _Entry(fingerprint, answer, now + self.ttl))

    def clear(self) -> None:
        """Forget every key and zero the counters."""
        self._entries.clear()
        self.replays = 0
        self.mismatches = 0
