"""What a device's provisioning start needs from the registry, read in one unit of work.

A start asks four things: whether its tenant requires enrollment, has a
pre-provisioning hook, and has a subscription to `run.state_changed`, and what the
registry holds about the device. Each is a small query; asked apart, each was a trip to
the registry's thread and back with a connection of its own, which cost a start more
CPU than the queries themselves (docs/performance.md, 2026-12-06 (later)).
"""

from __future__ import annotations

from sqlalchemy import Connection

from domain.registry import StartFacts
from domain.webhooks import EventType
from registry.database import Database
from registry.enrollments import tenant_settings
from registry.hooks import hook_row
from registry.store import read_record
from registry.webhooks import subscriber_ids


async def read_start_facts(database: Database, tenant: str, device_id: str) -> StartFacts:
    """The registry's answers for a start of `device_id` by `tenant`, as of one moment."""

    def read(connection: Connection) -> StartFacts:
        return StartFacts(
            enrollment_required=tenant_settings(connection, tenant).enrollment_required,
            hooked=hook_row(connection, tenant) is not None,
            sends_run_states=bool(subscriber_ids(connection, tenant, EventType.RUN_STATE_CHANGED)),
            record=read_record(connection, device_id),
        )

    return await database.read(read)
