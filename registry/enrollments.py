"""Enrollments and tenant settings in the registry's database.

Every row belongs to one tenant and is only ever read or changed with it: another
tenant's enrollment is `EnrollmentNotFound`, like a missing one. Claim secrets arrive
here hashed (the service hashes them off the event loop).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from domain.enrollments import (
    EnrollmentExists,
    EnrollmentNotFound,
    GroupDefaults,
    GroupEnrollment,
    GroupEnrollmentCreate,
    GroupEnrollmentPatch,
    GroupWithoutCriterion,
    IndividualEnrollment,
    IndividualEnrollmentCreate,
    IndividualEnrollmentPatch,
    StoredIndividualEnrollment,
    TenantSettings,
)
from registry.database import Database
from registry.store import MAX_PAGE, _decode_cursor, _encode_cursor
from registry.tables import GroupEnrollmentRow, IndividualEnrollmentRow, TenantSettingsRow

INDIVIDUAL = cast(Table, IndividualEnrollmentRow.__table__)
GROUPS = cast(Table, GroupEnrollmentRow.__table__)
SETTINGS = cast(Table, TenantSettingsRow.__table__)
DEFAULT_PRIORITY = 100
_IN_CHUNK = 500
"""Device ids per `IN (...)` of a bulk read (well under every database's limit)."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _individual(row: Mapping[Any, Any]) -> StoredIndividualEnrollment:
    view = IndividualEnrollment(
        device_id=row["device_id"],
        serial=row["serial"],
        mac=row["mac"],
        vendor=row["vendor"],
        model=row["model"],
        claim_secret_set=row["claim_secret_hash"] is not None,
        enabled=row["enabled"],
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
    )
    return StoredIndividualEnrollment(view=view, claim_secret_hash=row["claim_secret_hash"])


def _group(row: Mapping[Any, Any]) -> GroupEnrollment:
    return GroupEnrollment(
        group_id=row["group_id"],
        vendor=row["vendor"],
        model=row["model"],
        device_id_glob=row["device_id_glob"],
        priority=row["priority"],
        defaults=GroupDefaults(site=row["default_site"], strategy=row["default_strategy"]),
        enabled=row["enabled"],
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
    )


def _page_of(ids: Sequence[str], limit: int) -> str | None:
    return _encode_cursor(ids[limit - 1]) if len(ids) > limit else None


_SETTINGS_OF_TENANT = select(SETTINGS).where(SETTINGS.c.tenant == bindparam("tenant"))
"""Built once: every provisioning start reads it (`registry.start_facts`)."""


def tenant_settings(connection: Connection, tenant: str) -> TenantSettings:
    """The tenant's settings (the defaults when it never set any)."""
    row = connection.execute(_SETTINGS_OF_TENANT, {"tenant": tenant}).mappings().first()
    if row is None:
        return TenantSettings(tenant=tenant, enrollment_required=False, updated_at=None)
    return TenantSettings(
        tenant=tenant,
        enrollment_required=row["enrollment_required"],
        updated_at=_aware(row["updated_at"]),
    )


class EnrollmentStore:
    """A tenant's individual and group enrollments, and its settings.

    Args:
        database: The registry's database (schema migrated by `open_registry`).
        clock: Now, as an aware datetime (tests pass their own).
    """

    def __init__(
        self, database: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._database = database
        self._clock = clock

    # ------------------------------------------------------------ individual

    def _individual_values(
        self, tenant: str, create: IndividualEnrollmentCreate, claim_secret_hash: str | None
    ) -> dict[str, Any]:
        now = self._clock()
        return {
            "tenant": tenant,
            "device_id": create.device_id,
            "serial": create.serial,
            "mac": create.mac,
            "vendor": create.vendor,
            "model": create.model,
            "claim_secret_hash": claim_secret_hash,
            "enabled": create.enabled,
            "created_at": now,
            "updated_at": now,
        }

    async def add_individual(
        self, tenant: str, create: IndividualEnrollmentCreate, claim_secret_hash: str | None
    ) -> IndividualEnrollment:
        """Enroll one device.

        Raises:
            EnrollmentExists: The tenant has enrolled this device already.
        """
        values = self._individual_values(tenant, create, claim_secret_hash)
        try:
            await self._database.transaction(
                lambda connection: connection.execute(insert(INDIVIDUAL).values(values))
            )
        except IntegrityError:
            raise EnrollmentExists(create.device_id) from None
        return _individual(values).view

    async def replace_individuals(
        self, tenant: str, enrollments: Iterable[tuple[IndividualEnrollmentCreate, str | None]]
    ) -> int:
        """Create or replace many individual enrollments in one transaction (all or none)."""

        def replace(connection: Connection) -> int:
            count = 0
            for create, claim_secret_hash in enrollments:
                connection.execute(
                    delete(INDIVIDUAL).where(
                        INDIVIDUAL.c.tenant == tenant, INDIVIDUAL.c.device_id == create.device_id
                    )
                )
                values = self._individual_values(tenant, create, claim_secret_hash)
                connection.execute(insert(INDIVIDUAL).values(values))
                count += 1
            return count

        return await self._database.transaction(replace)

    async def individual(self, tenant: str, device_id: str) -> StoredIndividualEnrollment:
        """The tenant's enrollment of `device_id`.

        Raises:
            EnrollmentNotFound: None (another tenant's neither).
        """
        row = await self._database.read(
            lambda connection: _individual_row(connection, tenant, device_id)
        )
        if row is None:
            raise EnrollmentNotFound(device_id)
        return _individual(row)

    async def individuals(
        self, tenant: str, device_ids: Iterable[str]
    ) -> dict[str, StoredIndividualEnrollment]:
        """The tenant's enrollments of those of `device_ids` it has enrolled."""
        wanted = sorted(set(device_ids))

        def read(connection: Connection) -> dict[str, StoredIndividualEnrollment]:
            found: dict[str, StoredIndividualEnrollment] = {}
            for start in range(0, len(wanted), _IN_CHUNK):
                query = select(INDIVIDUAL).where(
                    INDIVIDUAL.c.tenant == tenant,
                    INDIVIDUAL.c.device_id.in_(wanted[start : start + _IN_CHUNK]),
                )
                for row in connection.execute(query).mappings():
                    found[row["device_id"]] = _individual(row)
            return found

        return await self._database.read(read)

    async def list_individuals(
        self, tenant: str, *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[IndividualEnrollment], str | None]:
        """One page of the tenant's individual enrollments by device id, and the next
        page's cursor.

        Raises:
            ValueError: A cursor this registry did not give.
        """
        limit = max(1, min(limit, MAX_PAGE))
        query = (
            select(INDIVIDUAL)
            .where(INDIVIDUAL.c.tenant == tenant)
            .order_by(INDIVIDUAL.c.device_id)
            .limit(limit + 1)
        )
        if cursor is not None:
            query = query.where(INDIVIDUAL.c.device_id > _decode_cursor(cursor))
        rows = await self._database.read(
            lambda connection: connection.execute(query).mappings().all()
        )
        items = [_individual(row).view for row in rows[:limit]]
        return items, _page_of([row["device_id"] for row in rows], limit)

    async def update_individual(
        self,
        tenant: str,
        device_id: str,
        patch: IndividualEnrollmentPatch,
        claim_secret_hash: str | None,
    ) -> IndividualEnrollment:
        """Change the fields `patch` sets (`claim_secret_hash` when it sets the secret).

        Raises:
            EnrollmentNotFound: The tenant has not enrolled the device.
        """
        changes: dict[str, Any] = {
            name: getattr(patch, name)
            for name in ("serial", "mac", "vendor", "model", "enabled")
            if name in patch.model_fields_set
        }
        if changes.get("enabled", True) is None:
            del changes["enabled"]
        if "claim_secret" in patch.model_fields_set:
            changes["claim_secret_hash"] = claim_secret_hash
        changes["updated_at"] = self._clock()

        def change(connection: Connection) -> Mapping[str, Any] | None:
            result = connection.execute(
                update(INDIVIDUAL)
                .where(INDIVIDUAL.c.tenant == tenant, INDIVIDUAL.c.device_id == device_id)
                .values(changes)
            )
            if result.rowcount != 1:
                raise EnrollmentNotFound(device_id)
            return _individual_row(connection, tenant, device_id)

        row = await self._database.transaction(change)
        assert row is not None
        return _individual(row).view

    async def delete_individual(self, tenant: str, device_id: str) -> None:
        """Forget the tenant's enrollment of `device_id`.

        Raises:
            EnrollmentNotFound: The tenant has not enrolled the device.
        """
        query = delete(INDIVIDUAL).where(
            INDIVIDUAL.c.tenant == tenant, INDIVIDUAL.c.device_id == device_id
        )
        removed = await self._database.transaction(
            lambda connection: connection.execute(query).rowcount
        )
        if removed != 1:
            raise EnrollmentNotFound(device_id)

    # ------------------------------------------------------------ group

    async def add_group(self, tenant: str, create: GroupEnrollmentCreate) -> GroupEnrollment:
        """Add a group enrollment.

        Raises:
            EnrollmentExists: The tenant has a group with this id already.
        """
        now = self._clock()
        defaults = create.defaults or GroupDefaults()
        values = {
            "tenant": tenant,
            "group_id": create.group_id,
            "vendor": create.vendor,
            "model": create.model,
            "device_id_glob": create.device_id_glob,
            "priority": DEFAULT_PRIORITY if create.priority is None else create.priority,
            "default_site": defaults.site,
            "default_strategy": defaults.strategy,
            "enabled": True if create.enabled is None else create.enabled,
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self._database.transaction(
                lambda connection: connection.execute(insert(GROUPS).values(values))
            )
        except IntegrityError:
            raise EnrollmentExists(create.group_id) from None
        return _group(values)

    async def group(self, tenant: str, group_id: str) -> GroupEnrollment:
        """The tenant's group `group_id`.

        Raises:
            EnrollmentNotFound: None (another tenant's neither).
        """
        row = await self._database.read(lambda connection: _group_row(connection, tenant, group_id))
        if row is None:
            raise EnrollmentNotFound(group_id)
        return _group(row)

    async def enabled_groups(self, tenant: str) -> list[GroupEnrollment]:
        """Every enabled group of the tenant."""
        query = select(GROUPS).where(GROUPS.c.tenant == tenant, GROUPS.c.enabled.is_(True))
        return await self._database.read(
            lambda connection: [_group(row) for row in connection.execute(query).mappings()]
        )

    async def list_groups(
        self, tenant: str, *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[GroupEnrollment], str | None]:
        """One page of the tenant's groups by id, and the next page's cursor.

        Raises:
            ValueError: A cursor this registry did not give.
        """
        limit = max(1, min(limit, MAX_PAGE))
        query = (
            select(GROUPS)
            .where(GROUPS.c.tenant == tenant)
            .order_by(GROUPS.c.group_id)
            .limit(limit + 1)
        )
        if cursor is not None:
            query = query.where(GROUPS.c.group_id > _decode_cursor(cursor))
        rows = await self._database.read(
            lambda connection: connection.execute(query).mappings().all()
        )
        return [_group(row) for row in rows[:limit]], _page_of(
            [row["group_id"] for row in rows], limit
        )

    async def update_group(
        self, tenant: str, group_id: str, patch: GroupEnrollmentPatch
    ) -> GroupEnrollment:
        """Change the fields `patch` sets.

        Raises:
            EnrollmentNotFound: The tenant has no such group.
            GroupWithoutCriterion: The change would clear its last criterion.
        """
        changes: dict[str, Any] = {
            name: getattr(patch, name)
            for name in ("vendor", "model", "device_id_glob")
            if name in patch.model_fields_set
        }
        if patch.priority is not None:
            changes["priority"] = patch.priority
        if patch.enabled is not None:
            changes["enabled"] = patch.enabled
        if "defaults" in patch.model_fields_set:
            defaults = patch.defaults or GroupDefaults()
            changes["default_site"] = defaults.site
            changes["default_strategy"] = defaults.strategy
        changes["updated_at"] = self._clock()

        def change(connection: Connection) -> dict[str, Any]:
            row = _group_row(connection, tenant, group_id)
            if row is None:
                raise EnrollmentNotFound(group_id)
            after = {**row, **changes}
            if all(after[name] is None for name in ("vendor", "model", "device_id_glob")):
                raise GroupWithoutCriterion(group_id)
            connection.execute(
                update(GROUPS)
                .where(GROUPS.c.tenant == tenant, GROUPS.c.group_id == group_id)
                .values(changes)
            )
            return after

        return _group(await self._database.transaction(change))

    async def delete_group(self, tenant: str, group_id: str) -> None:
        """Remove the tenant's group `group_id`.

        Raises:
            EnrollmentNotFound: The tenant has no such group.
        """
        query = delete(GROUPS).where(GROUPS.c.tenant == tenant, GROUPS.c.group_id == group_id)
        removed = await self._database.transaction(
            lambda connection: connection.execute(query).rowcount
        )
        if removed != 1:
            raise EnrollmentNotFound(group_id)

    # ------------------------------------------------------------ settings

    async def settings(self, tenant: str) -> TenantSettings:
        """The tenant's settings (the defaults when it never set any)."""
        return await self._database.read(lambda connection: tenant_settings(connection, tenant))

    async def put_settings(self, tenant: str, *, enrollment_required: bool) -> TenantSettings:
        """Set the tenant's settings."""
        now = self._clock()
        values = {"enrollment_required": enrollment_required, "updated_at": now}

        def put(connection: Connection) -> None:
            result = connection.execute(
                update(SETTINGS).where(SETTINGS.c.tenant == tenant).values(values)
            )
            if result.rowcount != 1:
                try:
                    with connection.begin_nested():
                        connection.execute(insert(SETTINGS).values(tenant=tenant, **values))
                except IntegrityError:  # a concurrent put inserted it: ours wins
                    connection.execute(
                        update(SETTINGS).where(SETTINGS.c.tenant == tenant).values(values)
                    )

        await self._database.transaction(put)
        return TenantSettings(
            tenant=tenant, enrollment_required=enrollment_required, updated_at=now
        )


def _individual_row(
    connection: Connection, tenant: str, device_id: str
) -> Mapping[str, Any] | None:
    query = select(INDIVIDUAL).where(
        INDIVIDUAL.c.tenant == tenant, INDIVIDUAL.c.device_id == device_id
    )
    row = connection.execute(query).mappings().first()
    return dict(row) if row is not None else None


def _group_row(connection: Connection, tenant: str, group_id: str) -> Mapping[str, Any] | None:
    query = select(GROUPS).where(GROUPS.c.tenant == tenant, GROUPS.c.group_id == group_id)
    row = connection.execute(query).mappings().first()
    return dict(row) if row is not None else None
