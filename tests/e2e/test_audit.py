"""The audit log at GET /api/v1/audit: a district admin reads who did what, when and from where."""

from __future__ import annotations

import uuid

import httpx
import pytest

from k12shared.auth import Keyring, PrincipalKind, issue_token


def _headers(settings, role: str, district: str | None, scopes=(), kind=PrincipalKind.user, **extra) -> dict:
    token, _ = issue_token(
        settings, Keyring(settings), subject=f"audit-test:{role}:{uuid.uuid4().hex[:6]}", kind=kind, roles=[role],
        district_ids=[uuid.UUID(district)] if district else [], scopes=scopes,
    )
    return {"authorization": f"Bearer {token}", **extra}


async def _district(api, admin, state_id: str, parent: str) -> str:
    found = (await api.get("/api/v1/orgs", params={"state_id": state_id, "type": "district"}, headers=admin)).json()["items"]
    if found:
        return found[0]["id"]
    created = await api.post("/api/v1/orgs", json={"type": "district", "name": f"Audit {state_id}", "state_code": "AU", "state_id": state_id, "parent_id": parent}, headers=admin)
    assert created.status_code == 201, created.text
    return created.json()["id"]


@pytest.fixture(scope="module")
async def districts(platform, settings):
    async with httpx.AsyncClient(base_url=platform.url(), timeout=30) as api:
        admin = _headers(settings, "platform_admin", None)
        found = (await api.get("/api/v1/orgs", params={"state_id": "AU", "type": "state"}, headers=admin)).json()["items"]
        state = found[0]["id"] if found else (await api.post("/api/v1/orgs", json={"type": "state", "name": "Audit", "state_code": "AU", "state_id": "AU"}, headers=admin)).json()["id"]
        yield await _district(api, admin, "AUD-A", state), await _district(api, admin, "AUD-B", state)


async def test_a_district_admin_reads_who_did_what_when_and_from_where(api, settings, districts):
    district_a, _ = districts
    admin = _headers(settings, "district_admin", district_a, **{"x-request-id": "audit-e2e-plan"})
    plan = await api.post("/api/v1/plans", json={"school_year": "2026-27", "title": "Audited plan"}, headers=admin)
    assert plan.status_code == 201, plan.text
    score = await api.get(f"/api/v1/orgs/{district_a}/scores", headers={**admin, "x-request-id": "audit-e2e-score"})
    assert score.status_code in (200, 404), score.text

    page = await api.get("/api/v1/audit", params={"resource": "plan"}, headers=admin)
    assert page.status_code == 200, page.text
    entry = next(e for e in page.json()["items"] if e["request_id"] == "audit-e2e-plan")
    assert entry["actor"].startswith("audit-test:district_admin") and entry["actor_kind"] == "user"
    assert (entry["action"], entry["resource"], entry["resource_id"], entry["service"]) == ("create", "plan", plan.json()["id"], "routines-api")
    assert entry["district_id"] == district_a and entry["at"]
    assert entry["client_ip"] == "127.0.0.1", "the caller's address as the gateway saw it"
    if score.status_code == 200:
        reads = (await api.get("/api/v1/audit", params={"action": "read", "resource": "score"}, headers=admin)).json()["items"]
        assert any(e["request_id"] == "audit-e2e-score" and e["service"] == "metrics-api" for e in reads)


async def test_pages_are_newest_first_and_filters_combine(api, settings, districts):
    district_a, _ = districts
    admin = _headers(settings, "district_admin", district_a)
    for n in range(3):
        assert (await api.post("/api/v1/plans", json={"school_year": "2027-28", "title": f"Paged {n}"}, headers=admin)).status_code == 201
    actor = (await api.get("/api/v1/audit", params={"limit": 1}, headers=admin)).json()["items"][0]["actor"]
    seen, cursor = [], None
    while True:
        params = {"limit": 1, "actor": actor, "action": "create"} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/api/v1/audit", params=params, headers=admin)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 3 and all(e["actor"] == actor and e["action"] == "create" for e in seen)
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), reverse=True)
    later = (await api.get("/api/v1/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=admin)).json()["items"]
    assert later == []


async def test_only_the_district_admin_of_that_district_reads_it(api, settings, districts):
    district_a, district_b = districts
    await api.post("/api/v1/plans", json={"school_year": "2026-27", "title": "A's secret plan"}, headers=_headers(settings, "district_admin", district_a))
    other = await api.get("/api/v1/audit", headers=_headers(settings, "district_admin", district_b))
    assert other.status_code == 200 and all(e["district_id"] == district_b for e in other.json()["items"])
    named = await api.get("/api/v1/audit", params={"district_id": district_a}, headers=_headers(settings, "district_admin", district_b))
    assert named.status_code == 404
    for role in ("staff", "leader"):
        refused = await api.get("/api/v1/audit", headers=_headers(settings, role, district_a))
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    client = _headers(settings, "district_admin", district_a, scopes=["metrics:read"], kind=PrincipalKind.client)
    assert (await api.get("/api/v1/audit", headers=client)).status_code == 403
    bad_cursor = await api.get("/api/v1/audit", params={"cursor": "not-a-cursor"}, headers=_headers(settings, "district_admin", district_a))
    assert bad_cursor.status_code == 400


async def test_token_issuance_and_sis_deliveries_are_audited_too(api, settings, districts):
    """Writes by callers who are not users: a partner exchanging its secret, a SIS pushing records."""
    import json
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook

    district_a, _ = districts
    admin = _headers(settings, "district_admin", district_a)
    client = (await api.post("/api/v1/api-clients", json={"name": "Audited partner", "scopes": ["metrics:read"]}, headers=admin)).json()
    issued = await api.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]})
    assert issued.status_code == 200
    tokens = (await api.get("/api/v1/audit", params={"action": "issue_token"}, headers=admin)).json()["items"]
    assert any(e["actor"] == f"client:{client['client_id']}" and e["resource_id"] == client["id"] and e["actor_kind"] == "client" for e in tokens)

    source = (await api.post("/api/v1/ingest/sis-sources", json={"name": "Audited SIS", "vendor": "Skyward", "district_id": district_a}, headers=admin)).json()
    body = json.dumps({"resource": "schools", "action": "upsert", "data": []})
    msg_id, now = f"msg_{uuid.uuid4().hex}", datetime.now(tz=UTC)
    signed = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": Webhook(source["secret"]).sign(msg_id, now, body), "content-type": "application/json"}
    delivered = await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=signed)
    assert delivered.status_code == 202, delivered.text
    deliveries = (await api.get("/api/v1/audit", params={"resource": "sis_delivery"}, headers=admin)).json()["items"]
    assert any(e["actor"] == f"sis_source:{source['id']}" and e["resource_id"] == str(delivered.json()["delivery_id"]) for e in deliveries)
