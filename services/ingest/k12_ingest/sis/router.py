"""/api/v1/ingest/sis-sources (a district's SIS feeds) and /webhooks/sis/{source_id} (signed deliveries)."""

from __future__ import annotations

import uuid

import orjson
from fastapi import APIRouter, Request, Response, status
from pydantic import ValidationError
from sqlalchemy import select

from k12shared import audit
from k12shared.auth import Principal, PrincipalKind
from k12shared.auth.deps import IngestReader, IngestWriter
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES, Unprocessable
from k12shared.models import SisQuarantine, SisSource, SisDelivery
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_ingest.sis import service
from k12_ingest.sis.schemas import DeliveryAccepted, DeliveryIn, DeliveryOut, QuarantinedOut, SourceIn, SourceOut, SourceWithSecret

router = APIRouter(prefix="/api/v1/ingest/sis-sources", tags=["SIS sources"], responses=PROBLEM_RESPONSES)
webhooks = APIRouter(prefix="/webhooks/sis", tags=["SIS webhooks"], responses=PROBLEM_RESPONSES)


def _out(source: SisSource, model=SourceOut, **extra):
    return model.model_validate({**{c: getattr(source, c) for c in SourceOut.model_fields if hasattr(source, c)}, "webhook_path": f"/webhooks/sis/{source.id}", **extra})


@router.post("", operation_id="createSisSource", status_code=status.HTTP_201_CREATED, summary="Register a SIS feed for a district; the secret is shown once")
async def create_source(data: SourceIn, session: SessionDep, principal: IngestWriter, request: Request) -> SourceWithSecret:
    district_id = principal.acting_district(data.district_id)
    source = await service.create(session, data.name, data.vendor, district_id)
    await audit.record(session, request, principal, action="create", resource="sis_source", resource_id=source.id, district_id=source.district_id)
    return _out(source, SourceWithSecret, secret=source.secret)


@router.get("", operation_id="listSisSources", summary="SIS feeds of the caller's districts")
async def list_sources(session: SessionDep, principal: IngestReader, cursor: CursorParam = None, limit: LimitParam = 50) -> Page[SourceOut]:
    stmt = service.sources_query(None if principal.is_platform else principal.district_ids)
    items, next_cursor = await paginate(session, stmt, [SisSource.id], cursor=cursor, limit=limit)
    return Page(items=[_out(s) for s in items], next_cursor=next_cursor)


@router.get("/{source_id}", operation_id="getSisSource", summary="One SIS feed")
async def get_source(source_id: uuid.UUID, session: SessionDep, principal: IngestReader) -> SourceOut:
    return _out(await service.get_for(session, principal, source_id))


@router.post("/{source_id}/rotate-secret", operation_id="rotateSisSourceSecret", summary="New secret; the old one stays valid for the grace period")
async def rotate_secret(source_id: uuid.UUID, session: SessionDep, principal: IngestWriter, request: Request) -> SourceWithSecret:
    source = await service.get_for(session, principal, source_id)
    source = await service.rotate(session, source, request.app.state.settings.webhook_secret_grace_s)
    await audit.record(session, request, principal, action="rotate", resource="sis_source", resource_id=source.id, district_id=source.district_id)
    return _out(source, SourceWithSecret, secret=source.secret)


@router.get("/{source_id}/deliveries", operation_id="listSisDeliveries", summary="Webhook deliveries received and how they were processed")
async def list_deliveries(
    source_id: uuid.UUID, session: SessionDep, principal: IngestReader, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[DeliveryOut]:
    await service.get_for(session, principal, source_id)
    stmt = select(SisDelivery).where(SisDelivery.source_id == source_id)
    items, next_cursor = await paginate(session, stmt, [SisDelivery.id], cursor=cursor, limit=limit)
    return Page(items=[DeliveryOut.model_validate(d) for d in items], next_cursor=next_cursor)


@router.get("/{source_id}/quarantine", operation_id="listSisQuarantine", summary="Records held for a school the platform does not know yet")
async def list_quarantine(
    source_id: uuid.UUID, session: SessionDep, principal: IngestReader, request: Request, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[QuarantinedOut]:
    source = await service.get_for(session, principal, source_id)
    stmt = select(SisQuarantine).where(SisQuarantine.district_id == source.district_id)
    items, next_cursor = await paginate(session, stmt, [SisQuarantine.id], cursor=cursor, limit=limit)
    await audit.record(session, request, principal, action="read", resource="sis_quarantine", resource_id=source.id, district_id=source.district_id)
    return Page(items=[QuarantinedOut.model_validate(q) for q in items], next_cursor=next_cursor)


@webhooks.post(
    "/{source_id}",
    operation_id="receiveSisWebhook",
    status_code=status.HTTP_202_ACCEPTED,
    summary="A signed Standard Webhooks delivery of Ed-Fi records: stored and queued; a repeated webhook-id has no second effect",
)
async def receive(source_id: uuid.UUID, request: Request, response: Response, session: SessionDep) -> DeliveryAccepted:
    source = await service.get(session, source_id)
    body = await request.body()
    service.verify(source, body, dict(request.headers))
    webhook_id = request.headers["webhook-id"]
    try:
        DeliveryIn.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise Unprocessable(f"The body is not an Ed-Fi delivery ({{resource, action, data}}): {str(exc)[:500]}") from None
    delivery_id = await service.queue_delivery(session, source, webhook_id, body.decode())
    if delivery_id is None:
        response.status_code = status.HTTP_200_OK
        return DeliveryAccepted(webhook_id=webhook_id, status="duplicate")
    sender = Principal(subject=f"sis_source:{source.id}", kind=PrincipalKind.client, roles=frozenset(), district_ids=frozenset({source.district_id}))
    await audit.record(session, request, sender, action="deliver", resource="sis_delivery", resource_id=delivery_id, district_id=source.district_id)
    return DeliveryAccepted(webhook_id=webhook_id, status="queued", delivery_id=delivery_id)
