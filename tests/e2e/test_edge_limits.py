"""Rate limits and CORS at the gateway, on a gateway process of their own with the default limits.

The shared test platform runs with limits out of reach so other tests never meet a 429; this module
starts a second gateway (same services, same database) configured like production except for the
webhook limit, which is lowered so the per-source test stays short.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import pytest


WEBHOOK_LIMIT = 40
ALLOWED_ORIGIN = "https://district.example.org"


@pytest.fixture(scope="module")
def edge_gateway(platform, tmp_path_factory):
    """A gateway with the default API limit (600/min), in development mode with one configured origin."""
    settings = {
        "K12_ENV": "development",
        "K12_CORS_ORIGINS": f'["{ALLOWED_ORIGIN}"]',
        "K12_WEBHOOK_RATE_LIMIT_PER_MINUTE": str(WEBHOOK_LIMIT),
    }
    with platform.extra_gateway(tmp_path_factory.mktemp("edge-gateway"), drop=("K12_RATE_LIMIT_PER_MINUTE",), **settings) as url:
        yield url


@pytest.fixture(scope="module")
async def api(edge_gateway):
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=edge_gateway, timeout=60, limits=limits) as client:
        yield client


async def _token(api, role: str, district: str | None = None) -> str:
    response = await api.post("/auth/dev-token", json={"role": role} | ({"district": district} if district else {}))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture(scope="module")
async def district(api) -> str:
    """A district of its own, so the limits counted here are this module's alone."""
    admin = {"authorization": f"Bearer {await _token(api, 'platform_admin')}"}
    suffix = uuid.uuid4().hex[:8]
    state = await api.post("/api/v1/orgs", json={"type": "state", "name": f"Limits {suffix}", "state_code": "KS", "state_id": f"KS-{suffix}"}, headers=admin)
    assert state.status_code == 201, state.text
    made = await api.post(
        "/api/v1/orgs",
        json={"type": "district", "name": f"Limits district {suffix}", "state_code": "KS", "state_id": f"RL{suffix}", "parent_id": state.json()["id"]},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    return made.json()["state_id"]


async def _client_token(api, district: str) -> str:
    admin = {"authorization": f"Bearer {await _token(api, 'district_admin', district)}"}
    created = await api.post("/api/v1/api-clients", json={"name": "Burst partner", "scopes": ["metrics:read"]}, headers=admin)
    assert created.status_code == 201, created.text
    client = created.json()
    issued = await api.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]})
    assert issued.status_code == 200, issued.text
    return issued.json()["access_token"]


async def _burst(api, n: int, method: str, path: str, concurrency: int = 48, **kw) -> list[httpx.Response]:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> httpx.Response:
        async with gate:
            return await api.request(method, path, **kw)

    return await asyncio.gather(*(one() for _ in range(n)))


async def test_a_burst_of_1500_calls_from_one_client_meets_429s_and_no_5xx(api, district):
    headers = {"authorization": f"Bearer {await _client_token(api, district)}"}
    responses = await _burst(api, 1500, "GET", "/api/v1/orgs", params={"state_id": district}, headers=headers)
    statuses = Counter(r.status_code for r in responses)
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) == {200, 429}, statuses
    # A one-minute window admits 600; a burst that straddles two windows at most twice that.
    assert 600 <= statuses[200] <= 1200, statuses

    allowed = next(r for r in responses if r.status_code == 200)
    assert allowed.headers["ratelimit-limit"] == "600"
    assert 0 <= int(allowed.headers["ratelimit-remaining"]) < 600
    assert 1 <= int(allowed.headers["ratelimit-reset"]) <= 60

    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 429 and refused.json()["type"].endswith("/rate-limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-reset"] == refused.headers["retry-after"]
    assert refused.headers["x-request-id"]

    # The limit is the client's own: a user of the same district is not held back by it.
    user = {"authorization": f"Bearer {await _token(api, 'staff', district)}"}
    other = await api.get("/api/v1/orgs", params={"state_id": district}, headers=user)
    assert other.status_code == 200, other.text
    assert int(other.headers["ratelimit-remaining"]) > 500


async def test_webhooks_are_limited_per_source(api):
    noisy, quiet = f"/webhooks/sis/noisy-{uuid.uuid4().hex[:6]}", f"/webhooks/sis/quiet-{uuid.uuid4().hex[:6]}"
    body = {"headers": {"content-type": "application/json"}, "content": b"{}"}
    responses = await _burst(api, 3 * WEBHOOK_LIMIT, "POST", noisy, **body)
    statuses = Counter(r.status_code for r in responses)
    assert statuses[429] >= WEBHOOK_LIMIT, statuses  # at most 2 windows' worth got through
    assert not [s for s in statuses if s >= 500], statuses
    elsewhere = await api.post(quiet, **body)
    assert elsewhere.status_code != 429
    assert elsewhere.headers["ratelimit-limit"] == str(WEBHOOK_LIMIT)


async def test_cors_preflight_allows_configured_and_development_origins(api):
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, idempotency-key"}
    for origin in (ALLOWED_ORIGIN, "http://localhost:5173", "http://localhost:3000"):
        response = await api.options("/api/v1/orgs", headers={"origin": origin, **preflight})
        assert response.status_code == 200, (origin, response.text)
        assert response.headers["access-control-allow-origin"] == origin
        allowed_headers = response.headers["access-control-allow-headers"].lower()
        assert "idempotency-key" in allowed_headers and "authorization" in allowed_headers
        assert "POST" in response.headers["access-control-allow-methods"]

    refused = await api.options("/api/v1/orgs", headers={"origin": "https://evil.example.com", **preflight})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


async def test_cors_headers_on_actual_responses_expose_edge_headers(api, district):
    headers = {"origin": "http://localhost:5173", "authorization": f"Bearer {await _token(api, 'staff', district)}"}
    response = await api.get("/api/v1/orgs", params={"state_id": district}, headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    exposed = response.headers["access-control-expose-headers"].lower()
    assert {"etag", "ratelimit-remaining", "retry-after", "x-request-id"} <= set(h.strip() for h in exposed.split(","))


async def test_hits_counted_by_another_replica_count_here_too(api, district, platform):
    """Each replica counts in memory and syncs its counts through PostgreSQL: what another replica
    served in this window is held against the client here within a sync interval or two."""
    import asyncpg
    from jose import jwt

    if 60 - time.time() % 60 < 8:  # not across a window boundary
        await asyncio.sleep(60 - time.time() % 60 + 0.5)
    token = await _client_token(api, district)
    bucket = jwt.get_unverified_claims(token)["sub"]
    headers = {"authorization": f"Bearer {token}"}
    first = await api.get("/api/v1/orgs", params={"state_id": district}, headers=headers)
    assert first.status_code == 200 and first.headers["ratelimit-remaining"] == "599", first.headers
    this_window = "date_bin('60 seconds', now(), timestamptz '1970-01-01')"
    conn = await asyncpg.connect(platform.database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await asyncio.sleep(0.6)
        synced = await conn.fetchval(f"select hits from edge_rate_limit_windows where bucket = $1 and window_start = {this_window}", bucket)
        assert synced == 1, "this replica synced its count to PostgreSQL"
        # Another replica served the other 599 calls this client may make in the window.
        await conn.execute(f"update edge_rate_limit_windows set hits = hits + 599 where bucket = $1 and window_start = {this_window}", bucket)
    finally:
        await conn.close()
    statuses = []
    for _ in range(10):
        statuses.append((await api.get("/api/v1/orgs", params={"state_id": district}, headers=headers)).status_code)
        if statuses[-1] == 429:
            break
        await asyncio.sleep(0.3)
    assert statuses[-1] == 429 and len(statuses) <= 3, statuses
