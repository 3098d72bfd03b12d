"""The outbox: an event is written in the same transaction as the change it reports, with the
job that dispatches it, so an event exists exactly when its change is committed."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.models import OutboxEvent
from k12shared.queue import enqueue

EVENT_TYPES = (
    "action.created",
    "action.due_soon",
    "action.overdue",
    "meeting.scheduled",
    "pack.published",
    "judgment.recorded",
    "ingest.completed",
)
DISPATCH_JOB = "routines.dispatch_event"


async def emit(session: AsyncSession, district_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> OutboxEvent:
    assert event_type in EVENT_TYPES, event_type
    event = OutboxEvent(id=uuid.uuid4(), district_id=district_id, type=event_type, data=jsonable_encoder(data))
    session.add(event)
    await session.flush()
    await enqueue(session, DISPATCH_JOB, {"event_id": str(event.id)}, dedupe_key=f"dispatch:{event.id}")
    return event


def envelope(event: OutboxEvent) -> dict[str, Any]:
    """The body subscribers receive (Standard Webhooks: type, timestamp, data)."""
    return {
        "type": event.type,
        "timestamp": event.occurred_at.isoformat(),
        "data": {**event.data, "district_id": str(event.district_id)},
    }
