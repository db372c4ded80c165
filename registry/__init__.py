"""The device registry: one record per device, in SQLite (embedded) or PostgreSQL.

`DeviceRegistry` is the store (SQLAlchemy 2 Core, async methods whose SQL runs as one
unit of work per operation on the shared `registry.database.Database`: on SQLite in the
registry's own threads, on PostgreSQL through asyncpg); `open_registry` opens it and
brings its schema up to date with the Alembic migrations in `registry/migrations`.
"""

from registry.store import DeviceRegistry, open_registry, opened_registry

__all__ = ["DeviceRegistry", "open_registry", "opened_registry"]
