"""Outbound delivery: each outbox event fans out to the district's subscribers, and each delivery
is signed (Standard Webhooks), retried with exponential backoff, logged attempt by attempt; a
subscription that keeps failing is paused. Handlers are idempotent: a job run twice does no harm."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from sqlalchemy import any_, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from k12shared.errors import Unprocessable
from k12shared.models import OutboxEvent, WebhookDelivery, WebhookDeliveryAttempt, WebhookSubscription
from k12shared.queue import enqueue
from k12shared.settings import Settings
from k12_routines.events import envelope
from k12_routines.webhooks.ssrf import check_url

log = logging.getLogger("k12.routines.webhooks")
DELIVER_JOB = "routines.deliver_webhook"
MAX_BACKOFF = timedelta(days=1)


async def dispatch(session: AsyncSession, event_id: uuid.UUID) -> list[uuid.UUID]:
    """Create one delivery per active subscriber of the event's type, and queue them."""
    event = await session.get(OutboxEvent, event_id)
    if event is None:
        return []
    subscriptions = await session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.district_id == event.district_id,
            WebhookSubscription.status == "active",
            literal(event.type) == any_(WebhookSubscription.events),
        )
    )
    created = []
    for subscription in subscriptions:
        delivery_id = await session.scalar(
            insert(WebhookDelivery)
            .values(district_id=event.district_id, subscription_id=subscription.id, event_id=event.id, event_type=event.type)
            .on_conflict_do_nothing(index_elements=[WebhookDelivery.subscription_id, WebhookDelivery.event_id])
            .returning(WebhookDelivery.id)
        )
        if delivery_id is not None:
            await enqueue(session, DELIVER_JOB, {"delivery_id": str(delivery_id)}, dedupe_key=f"deliver:{delivery_id}:1")
            created.append(delivery_id)
    event.dispatched_at = event.dispatched_at or datetime.now(UTC)
    await session.flush()
    return created


def signed_request(subscription: WebhookSubscription, event: OutboxEvent) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps(envelope(event))
    sent_at = datetime.now(UTC)
    signature = Webhook(subscription.secret).sign(msg_id=str(event.id), timestamp=sent_at, data=body.decode())
    headers = {
        "content-type": "application/json",
        "user-agent": "K12Perform-Webhooks/1.0",
        "webhook-id": str(event.id),
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
    return body, headers


def backoff(settings: Settings, attempt: int) -> timedelta:
    return min(timedelta(seconds=settings.webhook_retry_base_s * 2 ** (attempt - 1)), MAX_BACKOFF)


async def deliver(session: AsyncSession, client: httpx.AsyncClient, settings: Settings, delivery_id: uuid.UUID) -> str:
    """One attempt. Returns the delivery's status afterwards."""
    delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != "pending":
        return delivery.status if delivery else "missing"
    subscription = await session.get(WebhookSubscription, delivery.subscription_id)
    event = await session.get(OutboxEvent, delivery.event_id)
    if subscription is None or event is None:
        delivery.status = "failed"
        return delivery.status
    if subscription.status != "active":
        return "pending"  # resumes when the subscription is resumed
    delivery.attempts += 1
    status_code, error, started = None, None, time.monotonic()
    try:
        await check_url(subscription.url, settings)  # again now: DNS may have changed since
        body, headers = signed_request(subscription, event)
        response = await client.post(subscription.url, content=body, headers=headers, timeout=settings.webhook_timeout_s, follow_redirects=False)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"receiver answered {status_code}"
    except Unprocessable as exc:
        error = f"refused: {exc.detail}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    session.add(
        WebhookDeliveryAttempt(delivery_id=delivery.id, attempt=delivery.attempts, status_code=status_code, error=error, duration_ms=int((time.monotonic() - started) * 1000))
    )
    delivery.last_status_code, delivery.last_error = status_code, error
    if error is None:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", datetime.now(UTC), None
        subscription.consecutive_failures = 0
    else:
        await _after_failure(session, settings, subscription, delivery)
    await session.flush()
    return delivery.status


async def _after_failure(session: AsyncSession, settings: Settings, subscription: WebhookSubscription, delivery: WebhookDelivery) -> None:
    subscription.consecutive_failures += 1
    if subscription.consecutive_failures >= settings.webhook_pause_after_failures and subscription.status == "active":
        subscription.status, subscription.paused_at = "paused", datetime.now(UTC)
        log.warning("webhook subscription paused", extra={"subscription_id": str(subscription.id), "failures": subscription.consecutive_failures})
    if delivery.attempts >= settings.webhook_max_attempts:
        delivery.status, delivery.next_attempt_at = "failed", None
        return
    wait = backoff(settings, delivery.attempts)
    delivery.next_attempt_at = datetime.now(UTC) + wait
    await enqueue(session, DELIVER_JOB, {"delivery_id": str(delivery.id)}, execute_after=wait, dedupe_key=f"deliver:{delivery.id}:{delivery.attempts + 1}")


async def requeue_pending(session: AsyncSession, subscription: WebhookSubscription) -> int:
    """After a paused subscription is resumed, its waiting deliveries are tried again."""
    pending = list(await session.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id, WebhookDelivery.status == "pending")))
    for delivery in pending:
        await enqueue(session, DELIVER_JOB, {"delivery_id": str(delivery.id)}, dedupe_key=f"deliver:{delivery.id}:resume:{subscription.paused_at}")
    return len(pending)
