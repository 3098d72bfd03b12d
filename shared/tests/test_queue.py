"""Jobs are queued in the caller's transaction: rolled back with it, visible once it commits."""

from __future__ import annotations

import asyncio
import uuid

from pgqueuer import PgQueuer
from sqlalchemy import text

from k12shared.queue import WorkerContext, enqueue, job_payload


async def _count(engine, entrypoint: str) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("select count(*) from pgqueuer where entrypoint = :e"), {"e": entrypoint})


async def test_job_exists_only_if_the_transaction_commits(engine, session):
    entrypoint = f"test.rollback.{uuid.uuid4().hex[:6]}"
    await enqueue(session, entrypoint, {"n": 1})
    inside = await session.scalar(text("select count(*) from pgqueuer where entrypoint = :e"), {"e": entrypoint})
    assert inside == 1
    assert await _count(engine, entrypoint) == 0  # not visible outside the open transaction
    await session.rollback()
    assert await _count(engine, entrypoint) == 0


async def test_dedupe_key_keeps_one_job(engine):
    entrypoint = f"test.dedupe.{uuid.uuid4().hex[:6]}"
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(engine) as s, s.begin():
        first = await enqueue(s, entrypoint, {"n": 1}, dedupe_key=entrypoint)
        second = await enqueue(s, entrypoint, {"n": 2}, dedupe_key=entrypoint)
    assert first is not None and second is None
    assert await _count(engine, entrypoint) == 1
    async with engine.begin() as conn:
        await conn.execute(text("delete from pgqueuer where entrypoint = :e"), {"e": entrypoint})


async def test_a_worker_runs_a_committed_job(engine, settings):
    import asyncpg
    from pgqueuer import AsyncpgPoolDriver
    from sqlalchemy.ext.asyncio import AsyncSession

    from k12shared.queue import asyncpg_dsn

    entrypoint = f"test.run.{uuid.uuid4().hex[:6]}"
    async with AsyncSession(engine) as s, s.begin():
        await enqueue(s, entrypoint, {"greeting": "hello"})
    seen: list[dict] = []
    pool = await asyncpg.create_pool(asyncpg_dsn(settings.database_url), min_size=1, max_size=2)
    pgq = PgQueuer(AsyncpgPoolDriver(pool))

    @pgq.entrypoint(entrypoint)
    async def handle(job) -> None:
        seen.append(job_payload(job))
        pgq.shutdown.set()

    await asyncio.wait_for(pgq.run(dequeue_timeout=__import__("datetime").timedelta(seconds=1)), timeout=20)
    await pool.close()
    assert seen == [{"greeting": "hello"}]
    assert WorkerContext  # the worker runtime imports cleanly
