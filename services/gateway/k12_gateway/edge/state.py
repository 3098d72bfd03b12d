"""The asyncpg pool for edge state and for auditing reads served from memory: single statements, no ORM round trips."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI

from k12shared.audit import ReadAuditLog


class _EdgeConnection(asyncpg.Connection):
    """Edge statements are single autocommit statements: no session state (settings, locks, cursors,
    listeners) outlives one, so a connection goes back to the pool without asyncpg's reset round trip."""

    def get_reset_query(self) -> str:
        return ""


def _asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def open_edge_pool(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.edge_pool = await asyncpg.create_pool(
        _asyncpg_dsn(settings.database_url),
        min_size=1,
        max_size=settings.db_pool_size,
        server_settings={"application_name": "k12perform-gateway-edge", "timezone": "UTC"},
        connection_class=_EdgeConnection,
    )
    app.state.read_audit = ReadAuditLog(app.state.edge_pool)


async def close_edge_pool(app: FastAPI) -> None:
    pool = getattr(app.state, "edge_pool", None)
    if pool is not None:
        await pool.close()
