"""Enrollments (individual and group) and tenant settings.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-04

Other branches add 0004 and 0005 after 0003; when they merge, this revision's
`down_revision` moves to the last of them (the tables here depend on none of theirs).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "individual_enrollments",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("serial", sa.String(64)),
        sa.Column("mac", sa.String(32)),
        sa.Column("vendor", sa.String(64)),
        sa.Column("model", sa.String(128)),
        sa.Column("claim_secret_hash", sa.String(255)),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "group_enrollments",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(64), primary_key=True),
        sa.Column("vendor", sa.String(64)),
        sa.Column("model", sa.String(128)),
        sa.Column("device_id_glob", sa.String(128)),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("default_site", sa.String(64)),
        sa.Column("default_strategy", sa.String(64)),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "tenant_settings",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("enrollment_required", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tenant_settings")
    op.drop_table("group_enrollments")
    op.drop_table("individual_enrollments")
