"""Idempotency keys: the first response to a request that carried one, to replay.

Follows the IETF httpapi Idempotency-Key draft: a key is scoped to its tenant, lives
`RETENTION`, and binds the request it first came with (its fingerprint). A second
request with the key gets the first one's response, without doing anything again; one
with another body is refused; one while the first is still being served is told so.
The rows live in the registry's database, so every API process sees the same keys and
a restart forgets none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from registry.database import Database
from registry.tables import IdempotencyKeyRow

KEYS = cast(Table, IdempotencyKeyRow.__table__)
RETENTION = timedelta(hours=24)
"""How long a key binds its request and response."""
ABANDONED_AFTER = timedelta(minutes=2)
"""A first request still unanswered after this long is taken as lost (its process died)."""


@dataclass(frozen=True)
class Claimed:
    """The key is this request's: serve it, then `complete` or `release` the key."""


@dataclass(frozen=True)
class Replay:
    """The key already answered this request: send the same response again."""

    status: int
    body: str
    location: str | None


@dataclass(frozen=True)
class Reused:
    """The key belongs to another request (another body, method or path)."""


@dataclass(frozen=True)
class InUse:
    """The key's first request is still being served."""


Claim = Claimed | Replay | Reused | InUse


class IdempotencyKeys:
    """Keys and their responses, in the registry's database.

    Args:
        database: The registry's database (schema migrated by `open_registry`).
        clock: Now, as an aware datetime (tests pass their own).
    """

    def __init__(
        self, database: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._database = database
        self._clock = clock

    async def claim(self, tenant: str, key: str, fingerprint: str) -> Claim:
        """Take `key` for a request, or say what the key is already bound to."""
        now = self._clock()
        values = {"tenant": tenant, "key": key, "fingerprint": fingerprint, "created_at": now}
        try:
            await self._database.transaction(
                lambda connection: connection.execute(insert(KEYS).values(values))
            )
            return Claimed()
        except IntegrityError:  # the key is taken: by what?
            pass
        return await self._database.transaction(
            lambda connection: _taken(connection, tenant, key, fingerprint, now)
        )

    async def complete(
        self, tenant: str, key: str, *, status: int, body: str, location: str | None
    ) -> None:
        """Keep the response of the key's request, to replay."""
        query = (
            update(KEYS)
            .where(KEYS.c.tenant == tenant, KEYS.c.key == key)
            .values(status=status, body=body, location=location)
        )
        await self._database.transaction(lambda connection: connection.execute(query))

    async def release(self, tenant: str, key: str) -> None:
        """Forget the key: its request did nothing, so it may be sent again."""
        query = delete(KEYS).where(KEYS.c.tenant == tenant, KEYS.c.key == key)
        await self._database.transaction(lambda connection: connection.execute(query))


def _taken(connection: Connection, tenant: str, key: str, fingerprint: str, now: datetime) -> Claim:
    """What the taken `key` is bound to (or the key, when it may be taken over)."""
    row = _row(connection, tenant, key)
    if row is None:  # released meanwhile: the client may send it again
        return InUse()
    created_at = _aware(row["created_at"])
    answered = row["status"] is not None
    if now - created_at > RETENTION or (not answered and now - created_at > ABANDONED_AFTER):
        return _take_over(connection, row, fingerprint, now)
    if row["fingerprint"] != fingerprint:
        return Reused()
    if not answered:
        return InUse()
    return Replay(status=row["status"], body=row["body"] or "", location=row["location"])


def _row(connection: Connection, tenant: str, key: str) -> Any:
    query = select(KEYS).where(KEYS.c.tenant == tenant, KEYS.c.key == key)
    return connection.execute(query).mappings().first()


def _take_over(connection: Connection, row: Any, fingerprint: str, now: datetime) -> Claim:
    """An expired key, or one whose first request was lost, starts afresh (unless a
    concurrent request took it over first)."""
    taken = connection.execute(
        update(KEYS)
        .where(KEYS.c.tenant == row["tenant"], KEYS.c.key == row["key"])
        .where(KEYS.c.created_at == row["created_at"])
        .values(fingerprint=fingerprint, status=None, body=None, location=None, created_at=now)
    )
    return Claimed() if taken.rowcount == 1 else InUse()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
