"""The asyncpg pool for edge state: one prepared statement per request, no ORM round trips."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI


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


async def close_edge_pool(app: FastAPI) -> None:
    pool = getattr(app.state, "edge_pool", None)
    if pool is not None:
        await pool.close()
