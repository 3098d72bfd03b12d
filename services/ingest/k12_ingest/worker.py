"""The ingest worker: file loads, SIS deliveries and pull feeds from the PostgreSQL queue.

    python -m k12_ingest.worker
"""

from __future__ import annotations

import asyncio
import uuid

from pgqueuer import PgQueuer

from k12shared.queue import WorkerContext, job_payload, run_worker
from k12_ingest.jobs.load import run_load_until_done
from k12_ingest.profiles.service import ensure_builtin


async def setup(pgq: PgQueuer, ctx: WorkerContext) -> None:
    async with ctx.sessions() as session, session.begin():
        await ensure_builtin(session)

    @pgq.entrypoint("ingest.load", concurrency_limit=2)
    async def load(job) -> None:
        await run_load_until_done(ctx, uuid.UUID(job_payload(job)["job_id"]))

    from k12_ingest.sis.tasks import register as register_sis
    from k12_ingest.feeds.tasks import register as register_feeds

    register_sis(pgq, ctx)
    register_feeds(pgq, ctx)


def main() -> None:
    asyncio.run(run_worker("ingest-worker", setup, batch_size=20))


if __name__ == "__main__":
    main()
