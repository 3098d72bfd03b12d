"""Events other services hand to routines-api for delivery to subscribers (ingest.completed)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from k12shared import audit
from k12shared.auth import Principal, Role, requires
from k12shared.db import SessionDep
from k12shared.errors import NotFound
from k12shared.models import Organization
from k12_routines.events import emit

router = APIRouter(prefix="/internal/events", tags=["internal"], include_in_schema=False)
ServiceCaller = Annotated[Principal, requires(None, Role.service)]


class ExternalEventIn(BaseModel):
    type: Literal["ingest.completed"]
    district_id: uuid.UUID
    data: dict[str, Any] = Field(default_factory=dict)


@router.post("", operation_id="acceptEvent", status_code=status.HTTP_202_ACCEPTED)
async def accept_event(body: ExternalEventIn, session: SessionDep, principal: ServiceCaller, request: Request) -> dict[str, str]:
    district = await session.get(Organization, body.district_id)
    if district is None or district.type != "district":
        raise NotFound("District not found", field="district_id")
    event = await emit(session, body.district_id, body.type, body.data)
    await audit.record(session, request, principal, action="accept-event", resource="outbox_event", resource_id=event.id, district_id=body.district_id)
    return {"event_id": str(event.id)}
