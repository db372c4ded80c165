"""Idempotency keys in the registry's database, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from registry import DeviceRegistry
from registry.idempotency import (
    ABANDONED_AFTER,
    RETENTION,
    Claimed,
    IdempotencyKeys,
    InUse,
    Replay,
    Reused,
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_a_key_replays_its_first_answer_and_binds_its_request(
    registry: DeviceRegistry,
) -> None:
    keys = IdempotencyKeys(registry.database)

    assert await keys.claim("tenant-a", "k1", "body-1") == Claimed()
    assert await keys.claim("tenant-a", "k1", "body-1") == InUse()
    await keys.complete("tenant-a", "k1", status=202, body='{"run_id":"r1"}', location="/x")

    assert await keys.claim("tenant-a", "k1", "body-1") == Replay(202, '{"run_id":"r1"}', "/x")
    assert await keys.claim("tenant-a", "k1", "body-2") == Reused()
    # Another tenant's key of the same name is another key.
    assert await keys.claim("tenant-b", "k1", "body-2") == Claimed()


async def test_a_released_key_may_be_sent_again_with_another_request(
    registry: DeviceRegistry,
) -> None:
    keys = IdempotencyKeys(registry.database)
    assert await keys.claim("tenant-a", "k2", "refused body") == Claimed()
    await keys.release("tenant-a", "k2")

    assert await keys.claim("tenant-a", "k2", "fixed body") == Claimed()


async def test_keys_expire_and_a_lost_first_request_is_taken_over(
    registry: DeviceRegistry,
) -> None:
    clock = Clock()
    keys = IdempotencyKeys(registry.database, clock=clock)
    assert await keys.claim("tenant-a", "old", "body-1") == Claimed()
    await keys.complete("tenant-a", "old", status=202, body="{}", location=None)
    assert await keys.claim("tenant-a", "lost", "body-1") == Claimed()  # never answered

    clock.now += ABANDONED_AFTER + timedelta(seconds=1)
    assert await keys.claim("tenant-a", "old", "body-2") == Reused()
    assert await keys.claim("tenant-a", "lost", "body-1") == Claimed()

    clock.now += RETENTION
    assert await keys.claim("tenant-a", "old", "body-2") == Claimed()


async def test_concurrent_requests_with_one_key_have_one_winner(registry: DeviceRegistry) -> None:
    keys = IdempotencyKeys(registry.database)

    claims = await asyncio.gather(*(keys.claim("tenant-a", "race", "body") for _ in range(12)))

    assert claims.count(Claimed()) == 1
    assert claims.count(InUse()) == 11
