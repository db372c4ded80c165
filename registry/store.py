"""The registry store: claims and outcomes with compare-and-set, listings with cursors.

Every change is one short transaction that reads the device's row and writes it back
only if its `version` is still the one read: two runs claiming one device at once
cannot both win, on SQLite (one writer at a time) as on PostgreSQL (concurrent
transactions). Claims and outcomes are idempotent per run, so an activity that is
retried after a crash changes nothing the second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from adapters.files import private_file
from domain.registry import (
    CLAIMED_AS,
    CURSOR_MAX_LENGTH,
    CURSOR_PATTERN,
    DeviceBusy,
    DeviceClaim,
    DeviceFacts,
    DeviceFilter,
    DeviceNotFound,
    DevicePage,
    DeviceRecord,
    DeviceState,
    Outcome,
    RunKind,
    RunOutcome,
    claimable_from,
    state_after,
)
from registry.database import Database, database_file
from registry.tables import DeviceRow
from registry.webhooks import write_event

logger = logging.getLogger("devprov.registry")

DEVICES = cast(Table, DeviceRow.__table__)
MIGRATIONS = Path(__file__).parent / "migrations"
MAX_PAGE = 1000
_CLAIM_ATTEMPTS = 3
_FACTS = tuple(DeviceFacts.model_fields)

# The statements of every claim and outcome, built once: building one costs a unit of
# work more CPU than SQLite takes to run it (docs/performance.md, 2026-12-06 (later)).
_DEVICE_ROW = select(DEVICES).where(DEVICES.c.device_id == bindparam("device_id"))
_COMPARE_AND_SET = update(DEVICES).where(
    DEVICES.c.device_id == bindparam("where_device_id"),
    DEVICES.c.version == bindparam("where_version"),
)
"""Set the columns given with the parameters, if the row's version is still the one read."""
_INSERT_DEVICE = insert(DEVICES)


@dataclass(frozen=True)
class RecordedOutcome:
    """What recording a run's outcome did."""

    record: DeviceRecord | None
    """The device's record as the outcome left it; None for a device the registry
    does not hold."""
    subscribers: tuple[str, ...]
    """The enabled subscriptions that the outcome's webhook events are for."""


def _record(row: Mapping[Any, Any]) -> DeviceRecord:
    values = {key: row[key] for key in DeviceRecord.model_fields}
    for moment in ("claimed_at", "updated_at"):  # SQLite hands datetimes back naive
        value = values[moment]
        if isinstance(value, datetime) and value.tzinfo is None:
            values[moment] = value.replace(tzinfo=UTC)
    return DeviceRecord.model_validate(values)


def read_record(connection: Connection, device_id: str) -> DeviceRecord | None:
    """The device's record, if the registry holds it (whatever its tenant)."""
    row = DeviceRegistry._row(connection, device_id)
    return None if row is None else _record(row)


def _encode_cursor(device_id: str) -> str:
    return device_id.encode("ascii").hex()


def _decode_cursor(cursor: str) -> str:
    if len(cursor) > CURSOR_MAX_LENGTH or not re.fullmatch(CURSOR_PATTERN, cursor):
        raise ValueError(f"'{cursor[:40]}' is not a cursor this registry gives")
    return bytes.fromhex(cursor).decode("ascii")


class DeviceRegistry:
    """Devices and the runs that own them, in one SQL database.

    Args:
        database: The registry's database (SQLite or PostgreSQL) whose schema is up to
            date (`open_registry` opens and migrates it); the other stores share it.
        clock: Now, as an aware datetime (tests pass their own).
    """

    def __init__(
        self, database: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._database = database
        self._clock = clock

    @property
    def database(self) -> Database:
        return self._database

    async def close(self) -> None:
        await self._database.close()

    # ------------------------------------------------------------------ runs

    async def claim(self, claim: DeviceClaim) -> DeviceRecord:
        """Make `claim`'s run the owner of its device, or refuse.

        A device the registry has never seen is created by a provisioning claim. The
        same run claiming again gets the same answer.

        Raises:
            DeviceNotFound: No such device for the claim's tenant (a decommission of an
                unknown device, or another tenant's device).
            DeviceBusy: Another run owns it, or its state allows no run of this kind.
        """
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                won = await self._database.transaction(
                    lambda connection: self._claim_once(connection, claim)
                )
            except IntegrityError:  # created by a concurrent claim: read it again
                continue
            if won is not None:
                return won
        record = await self.get(claim.device_id, claim.tenant)
        raise DeviceBusy(record, claim.kind)

    def _claim_once(self, connection: Connection, claim: DeviceClaim) -> DeviceRecord | None:
        """The claimed record, or None when a concurrent change won the race."""
        now = self._clock()
        row = self._row(connection, claim.device_id)
        owned = {
            "state": CLAIMED_AS[claim.kind].value,
            "run_kind": claim.kind.value,
            "workflow_id": claim.workflow_id,
            "run_id": claim.run_id,
            "claimed_at": now,
            "updated_at": now,
        }
        if row is None:
            if claim.kind is not RunKind.PROVISION:
                raise DeviceNotFound(claim.device_id)
            values = {
                **{field: None for field in _FACTS},
                **owned,
                "device_id": claim.device_id,
                "tenant": claim.tenant,
                "strategy": claim.strategy,
                "vendor": claim.vendor,
                "model": claim.model,
                "site": claim.site,
                "device_type": claim.device_type,
                "transport_hints": dict(claim.transport_hints),
                "claimed_from": DeviceState.UNPROVISIONED.value,
                "version": 1,
            }
            connection.execute(_INSERT_DEVICE, values)
            return _record(values)
        record = _record(row)
        if record.tenant != claim.tenant:
            raise DeviceNotFound(claim.device_id)
        if record.run_id == claim.run_id and record.state is CLAIMED_AS[claim.kind]:
            return record
        if record.state not in claimable_from(claim.kind, reprovision=claim.reprovision):
            raise DeviceBusy(record, claim.kind)
        changes = {
            **owned,
            "strategy": claim.strategy,
            "vendor": claim.vendor or record.vendor,
            "model": claim.model or record.model,
            "site": claim.site or record.site,
            "device_type": claim.device_type or record.device_type,
            "transport_hints": dict(claim.transport_hints or record.transport_hints),
            "claimed_from": record.state.value,
            "version": record.version + 1,
        }
        if not self._compare_and_set(connection, record, changes):
            return None
        return _record({**dict(row), **changes})

    async def record_outcome(self, outcome: RunOutcome) -> DeviceRecord:
        """Record how the run that owns the device left it; the run no longer owns it.

        Idempotent: once recorded, the same outcome changes nothing. An outcome of a
        run that does not own the device (it lost its claim) changes nothing either.
        The outcome's webhook events, if any, go to the outbox in the same transaction
        (whether or not the run still owns the device: one that lost its claim ended too),
        its last `run.state_changed` first.

        Raises:
            DeviceNotFound: The registry has no such device.
        """
        recorded = await self.record_run_outcome(outcome)
        if recorded.record is None:
            raise DeviceNotFound(outcome.device_id)
        return recorded.record

    async def record_run_outcome(self, outcome: RunOutcome) -> RecordedOutcome:
        """`record_outcome`, saying also which subscriptions its events went to (what a
        run's last activity wakes), all in one unit of work; the record is None (the
        events written all the same) when the registry has no such device."""
        return await self._database.transaction(
            lambda connection: self._record_outcome(connection, outcome)
        )

    def _record_outcome(self, connection: Connection, outcome: RunOutcome) -> RecordedOutcome:
        subscribers: set[str] = set()
        for event in (outcome.state_event, outcome.event):
            if event is not None:
                subscribers.update(write_event(connection, event, self._clock()))
        row = self._row(connection, outcome.device_id)
        record = None if row is None else self._apply(connection, row, outcome)
        return RecordedOutcome(record=record, subscribers=tuple(sorted(subscribers)))

    def _apply(
        self, connection: Connection, row: Mapping[Any, Any], outcome: RunOutcome
    ) -> DeviceRecord:
        record = _record(row)
        claimed = record.state in CLAIMED_AS.values()
        if record.run_id != outcome.run_id or not claimed or record.run_kind is None:
            return record
        before = DeviceState(row["claimed_from"] or DeviceState.UNPROVISIONED.value)
        state = state_after(record.run_kind, outcome.outcome, before, reset=outcome.reset)
        changes: dict[str, Any] = {
            "state": state.value,
            "claimed_from": None,
            "updated_at": self._clock(),
            "version": record.version + 1,
        }
        if state is DeviceState.DECOMMISSIONED or outcome.reset:
            # A reset took away what the device's earlier service gave it.
            changes.update({field: None for field in _FACTS})
        if state is not DeviceState.DECOMMISSIONED and outcome.outcome is not Outcome.UNDONE:
            changes.update(outcome.facts.model_dump(exclude_none=True))
        if outcome.outcome is Outcome.DONE and outcome.tenant:
            changes["tenant"] = outcome.tenant
        if not self._compare_and_set(connection, record, changes):
            raise RuntimeError(f"device '{record.device_id}' changed under its owner run")
        logger.info(
            "device %s: %s by %s run %s",
            record.device_id,
            state.value,
            record.run_kind.value,
            record.workflow_id,
        )
        return _record({**dict(row), **changes})

    # ------------------------------------------------------------------ admins

    async def release_claim(self, device_id: str, tenant: str, run_id: str) -> DeviceRecord:
        """Free a device whose owner run `run_id` ended without recording its outcome
        (terminated, timed out): it becomes FAILED — what the run did to it is not known
        — which a provisioning or decommissioning run may claim. The caller checks
        that the run has ended.

        Raises:
            DeviceNotFound: No such device for `tenant`.
            DeviceBusy: The device is not claimed by `run_id` (any more).
        """
        record, released = await self._database.transaction(
            lambda connection: self._release_claim(connection, device_id, tenant, run_id)
        )
        logger.info("device %s: claim of run %s released (FAILED)", device_id, record.workflow_id)
        return released

    def _release_claim(
        self, connection: Connection, device_id: str, tenant: str, run_id: str
    ) -> tuple[DeviceRecord, DeviceRecord]:
        """The record before and after."""
        row = self._row(connection, device_id)
        if row is None or row["tenant"] != tenant:
            raise DeviceNotFound(device_id)
        record = _record(row)
        if record.run_id != run_id or record.state not in CLAIMED_AS.values():
            raise DeviceBusy(record, record.run_kind or RunKind.PROVISION)
        changes = {
            "state": DeviceState.FAILED.value,
            "claimed_from": None,
            "updated_at": self._clock(),
            "version": record.version + 1,
        }
        if not self._compare_and_set(connection, record, changes):
            raise self._busy_now(connection, device_id)
        return record, _record({**dict(row), **changes})

    async def transfer(self, device_id: str, tenant: str, to_tenant: str) -> DeviceRecord:
        """Give a device no run owns to another tenant.

        Raises:
            DeviceNotFound: No such device for `tenant`.
            DeviceBusy: A run owns it now.
        """
        transferred = await self._database.transaction(
            lambda connection: self._transfer(connection, device_id, tenant, to_tenant)
        )
        logger.info("device %s: transferred from tenant %s to %s", device_id, tenant, to_tenant)
        return transferred

    def _transfer(
        self, connection: Connection, device_id: str, tenant: str, to_tenant: str
    ) -> DeviceRecord:
        row = self._row(connection, device_id)
        if row is None or row["tenant"] != tenant:
            raise DeviceNotFound(device_id)
        record = _record(row)
        if record.state in CLAIMED_AS.values():
            raise DeviceBusy(record, record.run_kind or RunKind.PROVISION)
        changes = {
            "tenant": to_tenant,
            "updated_at": self._clock(),
            "version": record.version + 1,
        }
        if not self._compare_and_set(connection, record, changes):
            raise self._busy_now(connection, device_id)
        return _record({**dict(row), **changes})

    # ------------------------------------------------------------------ reads

    async def get(self, device_id: str, tenant: str | None = None) -> DeviceRecord:
        """The device's record; another tenant's device is `DeviceNotFound` too."""
        row = await self._database.read(lambda connection: self._row(connection, device_id))
        if row is None or (tenant is not None and row["tenant"] != tenant):
            raise DeviceNotFound(device_id)
        return _record(row)

    async def list(
        self, where: DeviceFilter, *, limit: int = 100, cursor: str | None = None
    ) -> DevicePage:
        """Devices matching `where`, sorted by id, `limit` at a time from `cursor`.

        Raises:
            ValueError: A cursor this registry did not give.
        """
        limit = max(1, min(limit, MAX_PAGE))
        query = select(DEVICES).order_by(DEVICES.c.device_id).limit(limit + 1)
        columns = {
            "tenant": DEVICES.c.tenant,
            "state": DEVICES.c.state,
            "strategy": DEVICES.c.strategy,
            "vendor": DEVICES.c.vendor,
            "site": DEVICES.c.site,
            "network_ssid": DEVICES.c.network_ssid,
        }
        for name, value in where.model_dump(exclude_none=True).items():
            query = query.where(columns[name] == str(value))
        if cursor is not None:
            query = query.where(DEVICES.c.device_id > _decode_cursor(cursor))
        rows = await self._database.read(
            lambda connection: connection.execute(query).mappings().all()
        )
        devices = [_record(row) for row in rows[:limit]]
        more = len(rows) > limit
        return DevicePage(
            devices=devices, next_cursor=_encode_cursor(devices[-1].device_id) if more else None
        )

    # ------------------------------------------------------------------ rows

    @staticmethod
    def _row(connection: Connection, device_id: str) -> Mapping[Any, Any] | None:
        return connection.execute(_DEVICE_ROW, {"device_id": device_id}).mappings().first()

    def _busy_now(self, connection: Connection, device_id: str) -> DeviceBusy:
        """A compare-and-set lost to a concurrent change: DeviceBusy with the record as
        that change left it."""
        row = self._row(connection, device_id)
        assert row is not None  # records are never deleted
        record = _record(row)
        return DeviceBusy(record, record.run_kind or RunKind.PROVISION)

    @staticmethod
    def _compare_and_set(
        connection: Connection, record: DeviceRecord, changes: Mapping[str, Any]
    ) -> bool:
        result = connection.execute(
            _COMPARE_AND_SET,
            {"where_device_id": record.device_id, "where_version": record.version, **changes},
        )
        return result.rowcount == 1


_MIGRATION_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)
"""One migration at a time per event loop: Alembic's `context` is process-global, and two
upgrades interleaved at their awaits would run one database's statements on the other's
connection ("no such table: main.devices", found by the saga explorer opening many
throwaway registries at once). On PostgreSQL the upgrade runs on the event loop's thread
(`run_sync`): this lock keeps a second one there from blocking on `_UPGRADE_LOCK`."""
_UPGRADE_LOCK = threading.Lock()
"""One migration at a time in the process: on SQLite upgrades run in the registries'
threads, where the event loop's lock alone would not keep two apart."""


def _migration_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _MIGRATION_LOCKS.get(loop)
    if lock is None:
        lock = _MIGRATION_LOCKS[loop] = asyncio.Lock()
    return lock


def _upgrade(connection: Connection) -> None:
    # Imported here: Alembic takes a tenth of a second to import, and only opening a
    # registry needs it (not the CLI, which imports the services that name the store).
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    with _UPGRADE_LOCK:
        command.upgrade(config, "head")


async def open_registry(url: str, *, pooled: bool = True) -> DeviceRegistry:
    """Open the registry at `url` and bring its schema up to date.

    `sqlite+aiosqlite:///<path>` or `sqlite:///<path>` (the embedded default: a file
    under the data directory, created 0600 in a 0700 directory; either way it runs on
    `sqlite3` in threads of the registry's own, see `registry.database`) or
    `postgresql+asyncpg://…`. `pooled=False` opens a connection per use and keeps none
    open (a registry that is never closed, like a throwaway one, then leaves no
    connection or thread behind).
    """
    file = database_file(url)
    if file is not None:
        private_file(file)
    database = Database(url, pooled=pooled)
    try:
        async with _migration_lock():
            await database.transaction(_upgrade)
    except BaseException:
        await database.close()
        raise
    return DeviceRegistry(database)


async def schema_revision(registry: DeviceRegistry) -> str:
    """The Alembic revision the registry's database is at."""
    row = await registry.database.read(
        lambda connection: connection.execute(
            text("SELECT version_num FROM alembic_version")
        ).first()
    )
    return str(row[0]) if row is not None else "none"


@contextlib.asynccontextmanager
async def opened_registry(url: str) -> AsyncIterator[DeviceRegistry]:
    """`open_registry(url)`, closed when the block ends."""
    registry = await open_registry(url)
    try:
        yield registry
    finally:
        await registry.close()
