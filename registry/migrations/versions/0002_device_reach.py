"""What a decommissioning run needs to reach a device: its type and transport hints.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as table:
        table.add_column(sa.Column("device_type", sa.String(64), nullable=False, server_default=""))
        table.add_column(sa.Column("transport_hints", sa.JSON, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("devices") as table:
        table.drop_column("transport_hints")
        table.drop_column("device_type")
