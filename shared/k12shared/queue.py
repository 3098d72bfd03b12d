"""Background work on a PostgreSQL-backed queue (pgqueuer).

``enqueue`` writes the job on the caller's own connection, inside its transaction: the job
exists exactly when the change that asked for it is committed (a transactional outbox).
Workers (``run_worker``) pick jobs with a heartbeat; a job whose worker dies is picked again
by the next worker once the heartbeat is stale, so handlers must be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import orjson
from pgqueuer import AsyncpgDriver, AsyncpgPoolDriver, PgQueuer, Queries
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth.keys import Keyring
from k12shared.db import create_engine, session_factory
from k12shared.http import ServiceClient, pooled_client
from k12shared.observability import configure_logging
from k12shared.settings import Settings, get_settings

log = logging.getLogger("k12.queue")
HEARTBEAT_TIMEOUT = timedelta(seconds=15)


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def enqueue(
    session: AsyncSession,
    entrypoint: str,
    payload: dict[str, Any],
    *,
    execute_after: timedelta | None = None,
    dedupe_key: str | None = None,
    priority: int = 0,
) -> int | None:
    """Queue a job in the session's transaction. With ``dedupe_key``, a job already queued is kept."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    queries = Queries(AsyncpgDriver(raw.driver_connection))
    ids = await queries.enqueue(
        entrypoint,
        orjson.dumps(payload),
        priority=priority,
        execute_after=execute_after,
        dedupe_key=dedupe_key,
        on_conflict="skip" if dedupe_key else "raise",
    )
    return int(ids[0]) if ids and ids[0] is not None else None


def job_payload(job: Any) -> dict[str, Any]:
    return orjson.loads(job.payload) if job.payload else {}


class WorkerContext:
    """What every job handler needs: settings, sessions, keys and clients of the other services."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.sessions = session_factory(self.engine)
        self.keyring = Keyring(settings)
        self.http = pooled_client(settings)
        self.services = {
            "metrics": ServiceClient(self.http, settings.metrics_url),
            "routines": ServiceClient(self.http, settings.routines_url),
            "ingest": ServiceClient(self.http, settings.ingest_url),
            "gateway": ServiceClient(self.http, settings.gateway_url),
        }

    async def close(self) -> None:
        await self.http.aclose()
        await self.engine.dispose()


Setup = Callable[[PgQueuer, WorkerContext], Awaitable[None] | None]


async def run_worker(name: str, setup: Setup, *, batch_size: int = 10, max_concurrent_tasks: int | None = None) -> None:
    settings = get_settings()
    configure_logging(name, settings.log_level)
    context = WorkerContext(settings)
    pool = await asyncpg.create_pool(asyncpg_dsn(settings.database_url), min_size=1, max_size=4)
    pgq = PgQueuer(AsyncpgPoolDriver(pool))
    maybe = setup(pgq, context)
    if asyncio.iscoroutine(maybe):
        await maybe
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, pgq.shutdown.set)
    log.info("worker started", extra={"worker": name})
    try:
        await pgq.run(
            batch_size=batch_size,
            max_concurrent_tasks=max_concurrent_tasks,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            dequeue_timeout=timedelta(seconds=5),
        )
    finally:
        await context.close()
        await pool.close()
        log.info("worker stopped", extra={"worker": name})
