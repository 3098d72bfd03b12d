"""Worker side of pull feeds: a minute-by-minute check of what is due, and the conditional fetch."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime

import httpx
from pgqueuer import PgQueuer
from sqlalchemy import or_, select

from k12shared.models import IngestFeed
from k12shared.queue import WorkerContext, job_payload
from k12_ingest.feeds import service
from k12_ingest.jobs import service as jobs
from k12_ingest.profiles import service as profiles

log = logging.getLogger("k12.ingest.feeds")
FETCH_TIMEOUT = httpx.Timeout(120, connect=10)


def register(pgq: PgQueuer, ctx: WorkerContext) -> None:
    @pgq.entrypoint(service.POLL_ENTRYPOINT, concurrency_limit=2)
    async def poll(job) -> None:
        payload = job_payload(job)
        await poll_feed(ctx, uuid.UUID(payload["feed_id"]), force=bool(payload.get("force")))

    @pgq.schedule("ingest.feeds_due", "* * * * *")
    async def due(schedule) -> None:
        await queue_due_feeds(ctx)


async def queue_due_feeds(ctx: WorkerContext) -> int:
    now = datetime.now(UTC)
    async with ctx.sessions() as session, session.begin():
        feeds = (
            await session.execute(
                select(IngestFeed)
                .where(IngestFeed.enabled, or_(IngestFeed.next_run_at.is_(None), IngestFeed.next_run_at <= now))
                .with_for_update(skip_locked=True)
            )
        ).scalars().all()
        for feed in feeds:
            feed.next_run_at = service.next_run(feed.schedule, now)
            await service.queue_poll(session, feed.id, scheduled=True)
    return len(feeds)


async def poll_feed(ctx: WorkerContext, feed_id: uuid.UUID, *, force: bool = False) -> str:
    """Fetch the feed's URL conditionally; a changed file becomes an ingest job. Returns what happened."""
    async with ctx.sessions() as session:
        feed = await session.get(IngestFeed, feed_id)
        if feed is None:
            return "gone"
        url, etag, last_modified, last_sha = feed.url, feed.etag, feed.last_modified, feed.last_sha256
    headers = {}
    if not force:
        if etag:
            headers["if-none-match"] = etag
        if last_modified:
            headers["if-modified-since"] = last_modified
    job_id = uuid.uuid4()
    path = jobs.spool_dir(ctx.settings) / f"{job_id}.upload"
    try:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=True) as client:
            async with client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return await _record(ctx, feed_id, "not_modified")
                if response.status_code != 200:
                    return await _record(ctx, feed_id, f"http_{response.status_code}")
                digest, size = hashlib.sha256(), 0
                with open(path, "wb") as out:
                    async for block in response.aiter_bytes(1 << 20):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
                new_etag, new_modified = response.headers.get("etag"), response.headers.get("last-modified")
    except httpx.HTTPError as exc:
        log.warning("feed fetch failed", extra={"feed_id": str(feed_id), "error": repr(exc)})
        jobs.remove_file(str(path))
        return await _record(ctx, feed_id, "fetch_failed")
    sha = digest.hexdigest()
    if sha == last_sha and not force:
        jobs.remove_file(str(path))
        return await _record(ctx, feed_id, "unchanged", etag=new_etag, last_modified=new_modified)
    async with ctx.sessions() as session, session.begin():
        feed = await session.get(IngestFeed, feed_id, with_for_update=True)
        if feed.last_sha256 == sha and not force:  # a concurrent check took this same file first
            jobs.remove_file(str(path))
            feed.last_checked_at, feed.last_status = datetime.now(UTC), "unchanged"
            return "unchanged"
        profile = await profiles.get(session, feed.profile_code)
        await jobs.create_job(
            session,
            job_id=job_id,
            profile_code=profile.code,
            profile_version=profile.version,
            path=path,
            size=size,
            sha256=sha,
            file_name=url.rsplit("/", 1)[-1][:300] or None,
            actor=f"feed:{feed_id}",
            kind="feed",
            feed_id=feed_id,
        )
        feed.etag, feed.last_modified, feed.last_sha256 = new_etag, new_modified, sha
        feed.last_checked_at, feed.last_status, feed.last_job_id = datetime.now(UTC), "changed", job_id
    return "changed"


async def _record(ctx: WorkerContext, feed_id: uuid.UUID, status: str, *, etag: str | None = None, last_modified: str | None = None) -> str:
    async with ctx.sessions() as session, session.begin():
        feed = await session.get(IngestFeed, feed_id, with_for_update=True)
        if feed is not None:
            feed.last_checked_at, feed.last_status = datetime.now(UTC), status
            if etag:
                feed.etag = etag
            if last_modified:
                feed.last_modified = last_modified
    return status
