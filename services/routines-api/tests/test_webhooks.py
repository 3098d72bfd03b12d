"""Outbound webhooks: subscriptions (secret shown once), SSRF refusal, Standard Webhooks
signatures, retries with backoff, the delivery log, and pausing after repeated failures."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from k12shared.errors import Unprocessable
from k12shared.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from k12shared.settings import Settings
from k12shared.testing import PRODUCTION_SECRETS, production_settings
from k12_routines.webhooks import delivery, ssrf


async def _subscribe(client, headers, url, events=("action.created", "action.overdue")):
    response = await client.post("/api/v1/webhook-subscriptions", json={"url": url, "events": list(events)}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _events(session, event_type: str) -> list[OutboxEvent]:
    return list(await session.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type).order_by(OutboxEvent.occurred_at)))


async def test_the_secret_is_shown_once(client, admin, receiver):
    created = await _subscribe(client, admin, receiver.url)
    assert created["secret"].startswith("whsec_") and created["status"] == "active"
    shown = (await client.get(f"/api/v1/webhook-subscriptions/{created['id']}", headers=admin)).json()
    assert "secret" not in shown
    assert all("secret" not in s for s in (await client.get("/api/v1/webhook-subscriptions", headers=admin)).json()["items"])


async def test_unknown_events_are_refused(client, admin, receiver):
    response = await client.post("/api/v1/webhook-subscriptions", json={"url": receiver.url, "events": ["action.exploded"]}, headers=admin)
    assert response.status_code == 422


@pytest.mark.parametrize("url", ["http://10.0.0.5/hook", "http://169.254.169.254/latest/meta-data", "http://192.168.1.10/x", "ftp://example.org/x"])
async def test_private_addresses_are_refused_even_in_test_mode(client, admin, url):
    response = await client.post("/api/v1/webhook-subscriptions", json={"url": url, "events": ["action.created"]}, headers=admin)
    assert response.status_code == 422, response.text


async def test_production_refuses_loopback_and_development_allows_it(settings):
    production = production_settings(**{k: v for k, v in settings.model_dump().items() if k not in ("env", *PRODUCTION_SECRETS)})
    with pytest.raises(Unprocessable):
        await ssrf.check_url("https://127.0.0.1/hook", production)
    with pytest.raises(Unprocessable):
        await ssrf.check_url("https://localhost/hook", production)
    with pytest.raises(Unprocessable):
        await ssrf.check_url("http://93.184.215.14/hook", production)  # production wants https
    await ssrf.check_url("http://127.0.0.1:9/hook", settings)


async def test_an_event_is_delivered_signed_and_logged(client, admin, receiver, session, settings):
    subscription = await _subscribe(client, admin, receiver.url)
    late = (await client.post("/api/v1/actions", json={"title": "Send letters", "owner": "test:x", "due_date": (date.today() - timedelta(days=3)).isoformat()}, headers=admin)).json()
    async with httpx.AsyncClient() as http:
        for event_type in ("action.created", "action.overdue"):
            (event,) = [e for e in await _events(session, event_type) if e.data["id"] == late["id"]]
            (delivery_id,) = await delivery.dispatch(session, event.id)
            assert await delivery.dispatch(session, event.id) == []  # dispatching twice delivers once
            assert await delivery.deliver(session, http, settings, delivery_id) == "delivered"
            assert await delivery.deliver(session, http, settings, delivery_id) == "delivered"  # idempotent
    assert len(receiver.received) == 2
    verifier = Webhook(subscription["secret"])
    payloads = [verifier.verify(body, headers) for headers, body in receiver.received]
    assert [p["type"] for p in payloads] == ["action.created", "action.overdue"]
    assert all(p["data"]["id"] == late["id"] for p in payloads)
    with pytest.raises(Exception):
        Webhook("whsec_" + "A" * 44).verify(receiver.received[0][1], receiver.received[0][0])
    log = (await client.get(f"/api/v1/webhook-subscriptions/{subscription['id']}/deliveries", headers=admin)).json()["items"]
    assert {d["status"] for d in log} == {"delivered"} and all(d["log"][0]["status_code"] == 204 for d in log)


async def test_failures_are_retried_with_backoff_then_the_subscription_pauses(client, admin, receiver, session, settings):
    receiver.status = 500
    subscription = await _subscribe(client, admin, receiver.url, events=["action.created"])
    strict = Settings(**{**settings.model_dump(), "webhook_pause_after_failures": 2, "webhook_max_attempts": 5, "webhook_retry_base_s": 10})
    await client.post("/api/v1/actions", json={"title": "A", "owner": "test:x", "due_date": "2030-01-01"}, headers=admin)
    (event,) = await _events(session, "action.created")
    (delivery_id,) = await delivery.dispatch(session, event.id)
    async with httpx.AsyncClient() as http:
        assert await delivery.deliver(session, http, strict, delivery_id) == "pending"
        row = await session.get(WebhookDelivery, delivery_id)
        first_wait = row.next_attempt_at
        assert await delivery.deliver(session, http, strict, delivery_id) == "pending"
        await session.refresh(row)
        assert row.attempts == 2 and row.last_status_code == 500 and row.next_attempt_at > first_wait
        assert delivery.backoff(strict, 1) == timedelta(seconds=10) and delivery.backoff(strict, 3) == timedelta(seconds=40)
        sub = await session.get(WebhookSubscription, uuid.UUID(subscription["id"]))
        await session.refresh(sub)
        assert sub.status == "paused" and sub.consecutive_failures == 2
        assert await delivery.deliver(session, http, strict, delivery_id) == "pending"  # paused: not tried
        assert len(receiver.received) == 2
        log = (await client.get(f"/api/v1/webhook-subscriptions/{subscription['id']}/deliveries", headers=admin)).json()["items"]
        assert [a["status_code"] for a in log[0]["log"]] == [500, 500]
        # Resumed, the receiver now answers: the waiting delivery goes through.
        receiver.status = 200
        resumed = await client.patch(f"/api/v1/webhook-subscriptions/{subscription['id']}", json={"status": "active"}, headers=admin)
        assert resumed.json()["status"] == "active" and resumed.json()["consecutive_failures"] == 0
        await session.refresh(sub)  # the API changed it in its own session
        assert await delivery.deliver(session, http, strict, delivery_id) == "delivered"


async def test_a_delivery_gives_up_after_the_last_attempt(client, admin, receiver, session, settings):
    receiver.status = 503
    await _subscribe(client, admin, receiver.url, events=["action.created"])
    limited = Settings(**{**settings.model_dump(), "webhook_max_attempts": 2, "webhook_pause_after_failures": 100})
    await client.post("/api/v1/actions", json={"title": "A", "owner": "test:x", "due_date": "2030-01-01"}, headers=admin)
    (event,) = await _events(session, "action.created")
    (delivery_id,) = await delivery.dispatch(session, event.id)
    async with httpx.AsyncClient() as http:
        assert await delivery.deliver(session, http, limited, delivery_id) == "pending"
        assert await delivery.deliver(session, http, limited, delivery_id) == "failed"


async def test_another_districts_subscriber_gets_nothing(client, admin, outsider, receiver, session):
    await _subscribe(client, outsider, receiver.url, events=["action.created"])
    await client.post("/api/v1/actions", json={"title": "A", "owner": "test:x", "due_date": "2030-01-01"}, headers=admin)
    (event,) = await _events(session, "action.created")
    assert await delivery.dispatch(session, event.id) == []


async def test_ingest_completed_is_accepted_from_a_service_only(client, make_token, auth, district, admin, session):
    body = {"type": "ingest.completed", "district_id": str(district.id), "data": {"job_id": "j1", "rows": 120}}
    assert (await client.post("/internal/events", json=body, headers=admin)).status_code == 403
    service = auth(make_token("service", kind="service", subject="service:ingest"))
    accepted = await client.post("/internal/events", json=body, headers=service)
    assert accepted.status_code == 202, accepted.text
    (event,) = await _events(session, "ingest.completed")
    assert event.data["rows"] == 120 and str(event.district_id) == str(district.id)
