"""/api/v1/ingest/feeds: state files pulled on a schedule (platform admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from k12shared import audit
from k12shared.auth.deps import PlatformAdmin
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import IngestFeed
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_ingest.feeds import service
from k12_ingest.feeds.schemas import FeedIn, FeedOut, FeedPatch, FeedRunOut

router = APIRouter(prefix="/api/v1/ingest/feeds", tags=["ingest feeds"], responses=PROBLEM_RESPONSES)


@router.post("", operation_id="createIngestFeed", status_code=status.HTTP_201_CREATED, summary="Register a pull feed")
async def create_feed(data: FeedIn, session: SessionDep, principal: PlatformAdmin, request: Request) -> FeedOut:
    feed = await service.create(session, data)
    await audit.record(session, request, principal, action="create", resource="ingest_feed", resource_id=feed.id)
    return FeedOut.model_validate(feed)


@router.get("", operation_id="listIngestFeeds", summary="Pull feeds")
async def list_feeds(session: SessionDep, _: PlatformAdmin, cursor: CursorParam = None, limit: LimitParam = 50) -> Page[FeedOut]:
    items, next_cursor = await paginate(session, service.list_query(), [IngestFeed.id], cursor=cursor, limit=limit)
    return Page(items=[FeedOut.model_validate(f) for f in items], next_cursor=next_cursor)


@router.get("/{feed_id}", operation_id="getIngestFeed", summary="One pull feed with its last check")
async def get_feed(feed_id: uuid.UUID, session: SessionDep, _: PlatformAdmin) -> FeedOut:
    return FeedOut.model_validate(await service.get(session, feed_id))


@router.patch("/{feed_id}", operation_id="updateIngestFeed", summary="Change a pull feed")
async def update_feed(feed_id: uuid.UUID, data: FeedPatch, session: SessionDep, principal: PlatformAdmin, request: Request) -> FeedOut:
    feed = await service.patch(session, await service.get(session, feed_id), data)
    await audit.record(session, request, principal, action="update", resource="ingest_feed", resource_id=feed.id)
    return FeedOut.model_validate(feed)


@router.post(
    "/{feed_id}/run",
    operation_id="runIngestFeed",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Check the feed now (?force=true ignores ETag / Last-Modified)",
)
async def run_feed(feed_id: uuid.UUID, session: SessionDep, principal: PlatformAdmin, request: Request, force: bool = False) -> FeedRunOut:
    await service.get(session, feed_id)
    queued = await service.queue_poll(session, feed_id, force=force)
    await audit.record(session, request, principal, action="run", resource="ingest_feed", resource_id=feed_id)
    return FeedRunOut(feed_id=feed_id, queued=queued)
