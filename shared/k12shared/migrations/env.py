"""Alembic environment: async engine from K12_DATABASE_URL (or the URL passed in the config)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from k12shared.models import Base
from k12shared.settings import get_settings

target_metadata = Base.metadata
# pgqueuer keeps its own tables; they are created by a migration but not modelled.
UNMODELLED_TABLES = {"pgqueuer", "pgqueuer_log", "pgqueuer_statistics", "pgqueuer_schedules"}


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table" and name in UNMODELLED_TABLES:
        return False
    if type_ in {"index", "column"} and getattr(getattr(obj, "table", None), "name", None) in UNMODELLED_TABLES:
        return False
    return True


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_object=include_object,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
