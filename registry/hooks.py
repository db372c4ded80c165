"""Tenants' pre-provisioning hooks in the registry's database (secrets arrive sealed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.hooks import HookNotFound, PreProvisioningHook, StoredHook
from registry.tables import PreProvisioningHookRow

HOOKS = cast(Table, PreProvisioningHookRow.__table__)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class HookStore:
    """One hook per tenant."""

    def __init__(
        self, engine: AsyncEngine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._engine = engine
        self._clock = clock

    async def put(self, tenant: str, url: str, sealed_secret: str) -> PreProvisioningHook:
        """Set (or replace) the tenant's hook."""
        values = {"url": url, "sealed_secret": sealed_secret, "updated_at": self._clock()}
        async with self._engine.begin() as connection:
            changed = await connection.execute(
                update(HOOKS).where(HOOKS.c.tenant == tenant).values(values)
            )
            if changed.rowcount != 1:
                try:
                    async with connection.begin_nested():
                        await connection.execute(insert(HOOKS).values(tenant=tenant, **values))
                except IntegrityError:  # a concurrent put inserted it: ours wins
                    await connection.execute(
                        update(HOOKS).where(HOOKS.c.tenant == tenant).values(values)
                    )
        return PreProvisioningHook(url=url, updated_at=cast(datetime, values["updated_at"]))

    async def get(self, tenant: str) -> StoredHook:
        """Raises: HookNotFound."""
        query = select(HOOKS).where(HOOKS.c.tenant == tenant)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        if row is None:
            raise HookNotFound(tenant)
        view = PreProvisioningHook(url=row["url"], updated_at=_aware(row["updated_at"]))
        return StoredHook(view=view, sealed_secret=row["sealed_secret"])

    async def delete(self, tenant: str) -> None:
        """Raises: HookNotFound."""
        async with self._engine.begin() as connection:
            removed = await connection.execute(delete(HOOKS).where(HOOKS.c.tenant == tenant))
        if removed.rowcount != 1:
            raise HookNotFound(tenant)
