"""job queue: pgqueuer's tables, functions and triggers

Revision ID: 20261122_0003
Revises: 20261122_0002
Create Date: 2026-11-22 15:55:00
"""

from __future__ import annotations

from alembic import op
from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment
from sqlalchemy.util import await_only

revision = "20261122_0003"
down_revision = "20261122_0002"
branch_labels = None
depends_on = None


def _execute_script(sql: str) -> None:
    # A multi-statement script must go through asyncpg's simple query protocol.
    raw = op.get_bind().connection.driver_connection
    await_only(raw.execute(sql))


def upgrade() -> None:
    _execute_script(QueryBuilderEnvironment().build_install_query(create_schema=False))


def downgrade() -> None:
    _execute_script(QueryBuilderEnvironment().build_uninstall_query())
