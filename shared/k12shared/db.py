"""Async engine, sessions and the request-owned transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from k12shared.settings import Settings


def create_engine(settings: Settings, **overrides) -> AsyncEngine:
    options = dict(
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "k12perform", "timezone": "UTC"}},
    )
    options.update(overrides)
    return create_async_engine(settings.database_url, **options)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit when the handler returns, roll back on error."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with factory() as session:
        async with session.begin():
            yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def driver_connection(session: AsyncSession) -> Any:
    """The session's asyncpg connection, in the session's transaction: for COPY and array-parameter statements."""
    return (await (await session.connection()).get_raw_connection()).driver_connection


async def database_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        exists = await conn.scalar(text("select to_regclass('public.alembic_version') is not null"))
        if not exists:
            return None
        return await conn.scalar(text("select version_num from alembic_version"))
