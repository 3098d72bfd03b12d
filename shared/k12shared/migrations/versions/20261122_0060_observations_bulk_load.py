"""observations: no per-row foreign-key triggers on the fact tables (bulk loads)

The loader guarantees what the foreign keys checked (see k12shared.models.observations); on a
million-row load the three triggers cost twice the insert itself.

Revision ID: 20261122_0060
Revises: 20261122_0050
Create Date: 2026-11-22 23:50:00
"""

from __future__ import annotations

from alembic import op

revision = "20261122_0060"
down_revision = "20261122_0050"
branch_labels = None
depends_on = None

_FOREIGN_KEYS = [
    ("org_id", "organizations", "id"),
    ("metric_code", "metrics", "code"),
    ("subgroup_code", "subgroups", "code"),
]


def upgrade() -> None:
    for table in ("observations", "observation_history"):
        for column, referred, _ in _FOREIGN_KEYS:
            op.drop_constraint(f"fk_{table}_{column}_{referred}", table, type_="foreignkey")


def downgrade() -> None:
    for table in ("observations", "observation_history"):
        for column, referred, key in _FOREIGN_KEYS:
            op.create_foreign_key(f"fk_{table}_{column}_{referred}", table, referred, [column], [key])
