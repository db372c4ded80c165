"""The devices table.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("vendor", sa.String(64), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("network_ssid", sa.String(64)),
        sa.Column("address", sa.String(512)),
        sa.Column("cloud_thing", sa.String(128)),
        sa.Column("cloud_certificate_id", sa.String(128)),
        sa.Column("cloud_certificate_fingerprint", sa.String(128)),
        sa.Column("zigbee_ieee", sa.String(32)),
        sa.Column("zigbee_nwk", sa.String(16)),
        sa.Column("run_kind", sa.String(16)),
        sa.Column("workflow_id", sa.String(256)),
        sa.Column("run_id", sa.String(64)),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("claimed_from", sa.String(16)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_devices_tenant_state", "devices", ["tenant", "state", "device_id"])
    op.create_index("ix_devices_tenant_site", "devices", ["tenant", "site", "device_id"])
    op.create_index("ix_devices_tenant_network", "devices", ["tenant", "network_ssid", "device_id"])


def downgrade() -> None:
    op.drop_index("ix_devices_tenant_network", "devices")
    op.drop_index("ix_devices_tenant_site", "devices")
    op.drop_index("ix_devices_tenant_state", "devices")
    op.drop_table("devices")
