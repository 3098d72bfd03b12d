"""sis: derived metrics computed once at the end of a storm of deliveries

A delivery with others of its district waiting behind it leaves its school years in
``sis_derive_pending`` for the last one in line, instead of re-deriving the district each time.

Revision ID: 20261123_0070
Revises: 20261122_0060
Create Date: 2026-11-23 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261123_0070"
down_revision = "20261122_0060"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sis_derive_pending",
        sa.Column("district_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("school_year", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "school_year", name=op.f("pk_sis_derive_pending")),
    )
    op.create_index(
        "ix_sis_webhook_deliveries_district_id_queued",
        "sis_webhook_deliveries",
        ["district_id"],
        postgresql_where=sa.text("status = 'queued'"),
    )


def downgrade() -> None:
    op.drop_index("ix_sis_webhook_deliveries_district_id_queued", table_name="sis_webhook_deliveries")
    op.drop_table("sis_derive_pending")
