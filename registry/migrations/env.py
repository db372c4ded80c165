"""Alembic environment: migrations run on the connection `open_registry` passes in
(`config.attributes["connection"]`), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic import context

from registry.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
)
with context.begin_transaction():
    context.run_migrations()
