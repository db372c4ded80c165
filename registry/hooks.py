"""Tenants' pre-provisioning hooks in the registry's database (secrets arrive sealed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from domain.hooks import HookNotFound, PreProvisioningHook, StoredHook
from registry.database import Database
from registry.tables import PreProvisioningHookRow

HOOKS = cast(Table, PreProvisioningHookRow.__table__)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_HOOK_OF_TENANT = select(HOOKS).where(HOOKS.c.tenant == bindparam("tenant"))
"""Built once: every provisioning start reads it (`registry.start_facts`)."""


def hook_row(connection: Connection, tenant: str) -> Mapping[Any, Any] | None:
    """The tenant's hook as stored, if it has one."""
    return connection.execute(_HOOK_OF_TENANT, {"tenant": tenant}).mappings().first()


class HookStore:
    """One hook per tenant."""

    def __init__(
        self, database: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._database = database
        self._clock = clock

    async def put(self, tenant: str, url: str, sealed_secret: str) -> PreProvisioningHook:
        """Set (or replace) the tenant's hook."""
        values = {"url": url, "sealed_secret": sealed_secret, "updated_at": self._clock()}
        await self._database.transaction(lambda connection: _put(connection, tenant, values))
        return PreProvisioningHook(url=url, updated_at=cast(datetime, values["updated_at"]))

    async def get(self, tenant: str) -> StoredHook:
        """Raises: HookNotFound."""
        row = await self._database.read(lambda connection: hook_row(connection, tenant))
        if row is None:
            raise HookNotFound(tenant)
        view = PreProvisioningHook(url=row["url"], updated_at=_aware(row["updated_at"]))
        return StoredHook(view=view, sealed_secret=row["sealed_secret"])

    async def delete(self, tenant: str) -> None:
        """Raises: HookNotFound."""
        removed = await self._database.transaction(
            lambda connection: (
                connection.execute(delete(HOOKS).where(HOOKS.c.tenant == tenant)).rowcount
            )
        )
        if removed != 1:
            raise HookNotFound(tenant)


def _put(connection: Connection, tenant: str, values: dict[str, Any]) -> None:
    changed = connection.execute(update(HOOKS).where(HOOKS.c.tenant == tenant).values(values))
    if changed.rowcount != 1:
        try:
            with connection.begin_nested():
                connection.execute(insert(HOOKS).values(tenant=tenant, **values))
        except IntegrityError:  # a concurrent put inserted it: ours wins
            connection.execute(update(HOOKS).where(HOOKS.c.tenant == tenant).values(values))
