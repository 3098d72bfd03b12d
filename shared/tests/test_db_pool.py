"""Pooled connections: one that went stale while idle is replaced before anyone uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from k12shared import db


async def _backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("select pg_backend_pid()"))


@pytest.fixture
async def own_engine(migrated_database, settings):
    engine = db.create_engine(settings, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def _terminate(engine, pid: int) -> None:
    async with engine.connect() as conn:  # a connection of another pool
        await conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})


async def test_an_idle_connection_killed_by_the_server_is_replaced_unseen(own_engine, engine, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every connection counts as idle
    killed = await _backend_pid(own_engine)
    await _terminate(engine, killed)
    assert await _backend_pid(own_engine) != killed  # the ping found it dead; the pool connected afresh


async def test_a_connection_in_steady_use_is_not_pinged(own_engine, engine, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
    killed = await _backend_pid(own_engine)
    await _terminate(engine, killed)
    # Not tested before use: the first statement meets the dead connection, and the pool starts over.
    with pytest.raises(Exception):
        await _backend_pid(own_engine)
    assert await _backend_pid(own_engine) != killed
