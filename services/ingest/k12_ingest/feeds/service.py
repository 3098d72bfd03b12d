"""Pull feeds: a URL, a profile and a cron schedule; fetched with ETag / Last-Modified."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from croniter import croniter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.errors import NotFound
from k12shared.models import IngestFeed
from k12shared.queue import enqueue
from k12_ingest.feeds.schemas import FeedIn, FeedPatch
from k12_ingest.profiles import service as profiles

POLL_ENTRYPOINT = "ingest.feed_poll"


def next_run(schedule: str, after: datetime | None = None) -> datetime:
    return croniter(schedule, after or datetime.now(UTC)).get_next(datetime)


async def create(session: AsyncSession, data: FeedIn) -> IngestFeed:
    await profiles.get(session, data.profile)
    feed = IngestFeed(name=data.name, url=str(data.url), profile_code=data.profile, schedule=data.schedule, enabled=data.enabled)
    feed.next_run_at = next_run(data.schedule)
    session.add(feed)
    await session.flush()
    return feed


async def get(session: AsyncSession, feed_id: uuid.UUID) -> IngestFeed:
    feed = await session.get(IngestFeed, feed_id)
    if feed is None:
        raise NotFound("Feed not found")
    return feed


async def patch(session: AsyncSession, feed: IngestFeed, data: FeedPatch) -> IngestFeed:
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(feed, key, str(value) if key == "url" else value)
    if data.schedule:
        feed.next_run_at = next_run(data.schedule)
    await session.flush()
    return feed


async def queue_poll(session: AsyncSession, feed_id: uuid.UUID, *, force: bool = False, scheduled: bool = False) -> bool:
    """A scheduled check is skipped while one is queued or running; a check asked for by hand always runs
    (one that finds what a concurrent check already loaded does nothing: see tasks.poll_feed)."""
    dedupe_key = f"feed-poll:{feed_id}" if scheduled else None
    job = await enqueue(session, POLL_ENTRYPOINT, {"feed_id": str(feed_id), "force": force}, dedupe_key=dedupe_key)
    return job is not None or dedupe_key is None


def list_query():
    return select(IngestFeed)
