"""ingest: which districts each load brought data to, for a district's "latest data loads"

Revision ID: 20261123_0080
Revises: 20261123_0070
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261123_0080"
down_revision = "20261123_0070"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_job_districts",
        sa.Column("job_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("district_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("observations_in_file", sa.Integer(), nullable=False),
        sa.Column("observations_changed", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["ingest_jobs.id"], name=op.f("fk_ingest_job_districts_job_id_ingest_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "district_id", name=op.f("pk_ingest_job_districts")),
    )
    op.create_index("ix_ingest_job_districts_district_id_finished_at", "ingest_job_districts", ["district_id", "finished_at"])
    op.create_index("ix_sis_webhook_deliveries_source_id_id", "sis_webhook_deliveries", ["source_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_sis_webhook_deliveries_source_id_id", table_name="sis_webhook_deliveries")
    op.drop_index("ix_ingest_job_districts_district_id_finished_at", table_name="ingest_job_districts")
    op.drop_table("ingest_job_districts")
