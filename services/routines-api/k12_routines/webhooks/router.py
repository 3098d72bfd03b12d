"""Outbound webhook subscriptions: ``url`` and ``events`` in, ``id`` and a secret (shown once) out."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from sqlalchemy import select

from k12shared.auth import Principal, Role, RoutinesReader, Scope, requires
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookSubscription
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_routines.access import get_visible, resolve_district
from k12_routines.events import EVENT_TYPES
from k12_routines.store import record, save
from k12_routines.webhooks.delivery import requeue_pending
from k12_routines.webhooks.ssrf import check_url

router = APIRouter(prefix="/api/v1/webhook-subscriptions", tags=["webhooks"], responses=PROBLEM_RESPONSES)
SubscriptionAdmin = Annotated[Principal, requires(Scope.routines_write, Role.district_admin)]
EventType = Literal["action.created", "action.due_soon", "action.overdue", "meeting.scheduled", "pack.published", "judgment.recorded", "ingest.completed"]
assert set(EventType.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]


class SubscriptionIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000, examples=["https://partner.example/hooks/k12"])
    events: list[EventType] = Field(min_length=1)
    district_id: uuid.UUID | None = None


class SubscriptionPatch(BaseModel):
    url: str | None = Field(None, min_length=8, max_length=2000)
    events: list[EventType] | None = Field(None, min_length=1)
    status: Literal["active", "paused"] | None = Field(None, description="`active` resumes a paused subscription")


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    district_id: uuid.UUID
    url: str
    events: list[str]
    status: str
    consecutive_failures: int
    paused_at: datetime | None
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="Standard Webhooks signing secret (whsec_…); shown only now")


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    attempted_at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    log: list[AttemptOut] = []


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@router.post("", operation_id="createWebhookSubscription", status_code=status.HTTP_201_CREATED, summary="Subscribe a URL to events; the signing secret is shown once")
async def create_subscription(data: SubscriptionIn, session: SessionDep, principal: SubscriptionAdmin, request: Request) -> SubscriptionCreated:
    district_id = resolve_district(principal, data.district_id)
    await check_url(data.url, request.app.state.settings)
    subscription = await save(
        session,
        WebhookSubscription(district_id=district_id, url=data.url, events=list(dict.fromkeys(data.events)), secret=new_secret(), created_by=principal.subject),
    )
    await record(session, request, principal, "create", "webhook_subscription", subscription)
    return SubscriptionCreated(**SubscriptionOut.model_validate(subscription).model_dump(), secret=subscription.secret)


@router.get("", operation_id="listWebhookSubscriptions", summary="The district's webhook subscriptions")
async def list_subscriptions(session: SessionDep, principal: RoutinesReader, district: uuid.UUID | None = None, cursor: CursorParam = None, limit: LimitParam = 50) -> Page[SubscriptionOut]:
    stmt = select(WebhookSubscription).where(WebhookSubscription.district_id == resolve_district(principal, district))
    rows, next_cursor = await paginate(session, stmt, [WebhookSubscription.id], cursor=cursor, limit=limit)
    return Page(items=[SubscriptionOut.model_validate(s) for s in rows], next_cursor=next_cursor)


@router.get("/{subscription_id}", operation_id="getWebhookSubscription", summary="One subscription (without its secret)")
async def get_subscription(subscription_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> SubscriptionOut:
    return SubscriptionOut.model_validate(await get_visible(session, WebhookSubscription, subscription_id, principal, "Subscription"))


@router.patch("/{subscription_id}", operation_id="updateWebhookSubscription", summary="Change the URL or events, pause, or resume")
async def update_subscription(subscription_id: uuid.UUID, data: SubscriptionPatch, session: SessionDep, principal: SubscriptionAdmin, request: Request) -> SubscriptionOut:
    subscription = await get_visible(session, WebhookSubscription, subscription_id, principal, "Subscription")
    if data.url is not None:
        await check_url(data.url, request.app.state.settings)
        subscription.url = data.url
    if data.events is not None:
        subscription.events = list(dict.fromkeys(data.events))
    if data.status == "active" and subscription.status == "paused":
        await requeue_pending(session, subscription)
        subscription.status, subscription.paused_at, subscription.consecutive_failures = "active", None, 0
    elif data.status == "paused" and subscription.status == "active":
        subscription.status, subscription.paused_at = "paused", datetime.now().astimezone()
    subscription = await save(session, subscription)
    await record(session, request, principal, "update", "webhook_subscription", subscription)
    return SubscriptionOut.model_validate(subscription)


@router.delete("/{subscription_id}", operation_id="deleteWebhookSubscription", status_code=status.HTTP_204_NO_CONTENT, summary="Unsubscribe")
async def delete_subscription(subscription_id: uuid.UUID, session: SessionDep, principal: SubscriptionAdmin, request: Request) -> Response:
    subscription = await get_visible(session, WebhookSubscription, subscription_id, principal, "Subscription")
    await record(session, request, principal, "delete", "webhook_subscription", subscription)
    await session.delete(subscription)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{subscription_id}/deliveries", operation_id="listWebhookDeliveries", summary="The delivery log: each event, its attempts and outcome")
async def list_deliveries(
    subscription_id: uuid.UUID,
    session: SessionDep,
    principal: RoutinesReader,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[DeliveryOut]:
    subscription = await get_visible(session, WebhookSubscription, subscription_id, principal, "Subscription")
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    if event_type:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    rows, next_cursor = await paginate(session, stmt, [WebhookDelivery.created_at, WebhookDelivery.id], cursor=cursor, limit=limit)
    attempts = list(await session.scalars(select(WebhookDeliveryAttempt).where(WebhookDeliveryAttempt.delivery_id.in_([d.id for d in rows])).order_by(WebhookDeliveryAttempt.attempt))) if rows else []
    items = []
    for delivery in rows:
        out = DeliveryOut.model_validate(delivery)
        out.log = [AttemptOut.model_validate(a) for a in attempts if a.delivery_id == delivery.id]
        items.append(out)
    return Page(items=items, next_cursor=next_cursor)
