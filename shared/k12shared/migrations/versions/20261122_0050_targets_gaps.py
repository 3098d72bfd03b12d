"""targets: gap targets (subgroup minus a reference group), title, author, last change

Revision ID: 20261122_0050
Revises: 20261122_0040
Create Date: 2026-11-22 20:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261122_0050"
down_revision = "20261122_0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("targets", sa.Column("reference_subgroup_code", sa.String(length=40), nullable=True))
    op.add_column("targets", sa.Column("title", sa.String(length=300), nullable=True))
    op.add_column("targets", sa.Column("created_by", sa.String(length=200), nullable=True))
    op.add_column("targets", sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False))
    op.create_foreign_key(
        op.f("fk_targets_reference_subgroup_code_subgroups"), "targets", "subgroups", ["reference_subgroup_code"], ["code"]
    )
    op.create_index("ix_targets_district_id", "targets", ["district_id"])


def downgrade() -> None:
    op.drop_index("ix_targets_district_id", table_name="targets")
    op.drop_constraint(op.f("fk_targets_reference_subgroup_code_subgroups"), "targets", type_="foreignkey")
    op.drop_column("targets", "updated_at")
    op.drop_column("targets", "created_by")
    op.drop_column("targets", "title")
    op.drop_column("targets", "reference_subgroup_code")
