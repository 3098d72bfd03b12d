"""edge: rate-limit windows and idempotency keys shared by the gateway replicas

Revision ID: 20261122_0040
Revises: 20261122_0030
Create Date: 2026-11-22 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261122_0040"
down_revision = "20261122_0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edge_rate_limit_windows",
        sa.Column("bucket", sa.String(length=300), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_edge_rate_limit_windows")),
    )
    op.create_index("ix_edge_rate_limit_windows_window_start", "edge_rate_limit_windows", ["window_start"])
    op.create_table(
        "edge_idempotency_keys",
        sa.Column("caller", sa.String(length=300), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "key_hash", name=op.f("pk_edge_idempotency_keys")),
    )
    op.create_index("ix_edge_idempotency_keys_expires_at", "edge_idempotency_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_edge_idempotency_keys_expires_at", table_name="edge_idempotency_keys")
    op.drop_table("edge_idempotency_keys")
    op.drop_index("ix_edge_rate_limit_windows_window_start", table_name="edge_rate_limit_windows")
    op.drop_table("edge_rate_limit_windows")
