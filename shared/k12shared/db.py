"""Async engine, sessions and the request-owned transaction."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from k12shared.settings import Settings


# A pooled connection idle this long is tested before it is handed out (a server restart, a proxy or
# firewall dropping idle connections). Testing every checkout, as pool_pre_ping does, costs three round
# trips per request on asyncpg; a connection in steady use proves itself, and the first disconnect
# error seen invalidates every connection of the pool anyway.
PING_AFTER_IDLE_S = 5.0


def create_engine(settings: Settings, **overrides) -> AsyncEngine:
    options = dict(
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        connect_args={"server_settings": {"application_name": "k12perform", "timezone": "UTC"}},
    )
    options.update(overrides)
    engine = create_async_engine(settings.database_url, **options)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's custom pessimistic disconnect handling: a DisconnectionError at checkout makes the
    pool discard that connection and hand out another."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _note_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get("checked_in_at", time.monotonic()) < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError() from exc


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit when the handler returns, roll back on error."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with factory() as session:
        async with session.begin():
            yield session


# Ended with the handler, before the answer is sent (FastAPI's default ends it after): a client acting on a
# 201 at once must find what it created.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def driver_connection(session: AsyncSession) -> Any:
    """The session's asyncpg connection, in the session's transaction: for COPY and array-parameter statements."""
    return (await (await session.connection()).get_raw_connection()).driver_connection


async def database_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        exists = await conn.scalar(text("select to_regclass('public.alembic_version') is not null"))
        if not exists:
            return None
        return await conn.scalar(text("select version_num from alembic_version"))
