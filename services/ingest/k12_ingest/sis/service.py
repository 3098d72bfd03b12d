"""SIS sources: a vendor's feed for a district, with a Standard Webhooks secret that can be rotated."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from k12shared.auth import Principal
from k12shared.errors import NotFound, Unauthorized, Unprocessable
from k12shared.models import Organization, SisDelivery, SisSource
from k12shared.queue import enqueue

DELIVERY_ENTRYPOINT = "ingest.sis_delivery"  # the worker's entrypoint (sis/tasks.py)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def create(session: AsyncSession, name: str, vendor: str, district_id: uuid.UUID) -> SisSource:
    district = await session.get(Organization, district_id)
    if district is None or district.type != "district":
        raise Unprocessable("district_id must be a district", field="district_id")
    source = SisSource(name=name, vendor=vendor, district_id=district_id, secret=new_secret())
    session.add(source)
    await session.flush()
    return source


async def get(session: AsyncSession, source_id: uuid.UUID) -> SisSource:
    source = await session.get(SisSource, source_id)
    if source is None:
        raise NotFound("SIS source not found")
    return source


async def get_for(session: AsyncSession, principal: Principal, source_id: uuid.UUID) -> SisSource:
    """A source the caller's district owns (404 for another district's, as for an unknown one)."""
    source = await get(session, source_id)
    principal.require_district(source.district_id, resource="SIS source")
    return source


async def queue_delivery(session: AsyncSession, source: SisSource, webhook_id: str, body: str) -> int | None:
    """Store a delivery and queue its processing; ``None`` when this webhook id was delivered before."""
    delivery_id = await session.scalar(
        insert(SisDelivery)
        .values(source_id=source.id, district_id=source.district_id, webhook_id=webhook_id[:200], body=body)
        .on_conflict_do_nothing(index_elements=["source_id", "webhook_id"])
        .returning(SisDelivery.id)
    )
    if delivery_id is not None:
        await enqueue(session, DELIVERY_ENTRYPOINT, {"delivery_id": delivery_id})
    return delivery_id


async def rotate(session: AsyncSession, source: SisSource, grace_s: int) -> SisSource:
    """A new secret; the old one keeps verifying for the grace period so the vendor can switch."""
    source.previous_secret = source.secret
    source.previous_secret_expires_at = datetime.now(UTC) + timedelta(seconds=grace_s)
    source.secret = new_secret()
    await session.flush()
    return source


def verify(source: SisSource, body: bytes, headers: dict[str, str]) -> None:
    """Standard Webhooks: HMAC-SHA256 over id.timestamp.body, constant-time, timestamp within 5 minutes.

    The current secret is tried first, then the previous one while its grace period lasts.
    """
    secrets_to_try = [source.secret]
    if source.previous_secret and source.previous_secret_expires_at and source.previous_secret_expires_at > datetime.now(UTC):
        secrets_to_try.append(source.previous_secret)
    last: Exception | None = None
    for secret in secrets_to_try:
        try:
            Webhook(secret).verify(body, headers)
            return
        except json.JSONDecodeError:
            return  # signed correctly; the body's shape is checked next
        except (WebhookVerificationError, ValueError, binascii.Error) as exc:
            last = exc
    raise Unauthorized(f"Webhook signature refused: {last}", slug="webhook-signature-refused")


def sources_query(district_ids: frozenset[uuid.UUID] | None):
    stmt = select(SisSource)
    if district_ids is not None:
        stmt = stmt.where(SisSource.district_id.in_(district_ids))
    return stmt
