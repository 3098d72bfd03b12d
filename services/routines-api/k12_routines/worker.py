"""routines worker: dispatches the outbox to webhook subscribers, delivers (signed, retried),
and scans for action reminders on a cron schedule. ``python -m k12_routines.worker``."""

from __future__ import annotations

import asyncio
import logging
import uuid

from pgqueuer import PgQueuer

from k12shared.queue import WorkerContext, job_payload, run_worker
from k12_routines import reminders
from k12_routines.events import DISPATCH_JOB
from k12_routines.webhooks.delivery import DELIVER_JOB, deliver, dispatch

log = logging.getLogger("k12.routines.worker")
REMINDER_SCHEDULE = "* * * * *"  # every minute; each reminder is sent once, so the scan is cheap


def setup(pgq: PgQueuer, ctx: WorkerContext) -> None:
    @pgq.entrypoint(DISPATCH_JOB)
    async def dispatch_event(job) -> None:
        event_id = uuid.UUID(job_payload(job)["event_id"])
        async with ctx.sessions() as session, session.begin():
            created = await dispatch(session, event_id)
        log.info("event dispatched", extra={"event_id": str(event_id), "deliveries": len(created)})

    @pgq.entrypoint(DELIVER_JOB)
    async def deliver_webhook(job) -> None:
        delivery_id = uuid.UUID(job_payload(job)["delivery_id"])
        async with ctx.sessions() as session, session.begin():
            outcome = await deliver(session, ctx.http, ctx.settings, delivery_id)
        log.info("webhook delivery attempted", extra={"delivery_id": str(delivery_id), "outcome": outcome})

    @pgq.schedule("routines.scan_reminders", REMINDER_SCHEDULE)
    async def scan_reminders(schedule) -> None:
        async with ctx.sessions() as session, session.begin():
            sent = await reminders.scan(session, ctx.settings)
        if any(sent.values()):
            log.info("reminders sent", extra=sent)


def main() -> None:
    asyncio.run(run_worker("routines-worker", setup))


if __name__ == "__main__":
    main()
