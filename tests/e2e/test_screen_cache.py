"""The dashboard kept a few seconds per caller, on a gateway of its own with the cache switched on.

Whether an answer came from memory is read where an auditor would read it: the gateway audits every
dashboard it serves from memory (the services audit the calls that compose one).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import httpx
import pytest
from jose import jwt


@pytest.fixture(scope="module")
def cache_gateway(platform, tmp_path_factory):
    with platform.extra_gateway(tmp_path_factory.mktemp("cache-gateway"), K12_SCREEN_CACHE_FRESH_S="60") as url:
        yield url


@pytest.fixture(scope="module")
async def api(cache_gateway):
    async with httpx.AsyncClient(base_url=cache_gateway, timeout=60) as client:
        yield client


async def _headers(api, role: str, district: str | None = None) -> dict:
    response = await api.post("/auth/dev-token", json={"role": role} | ({"district": district} if district else {}))
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def district(api) -> str:
    """A district of each test's own, so the audit entries counted are the test's alone."""
    admin = await _headers(api, "platform_admin")
    suffix = uuid.uuid4().hex[:8]
    state = await api.post("/api/v1/orgs", json={"type": "state", "name": f"Cache {suffix}", "state_code": "NE", "state_id": f"NE-{suffix}"}, headers=admin)
    assert state.status_code == 201, state.text
    made = await api.post("/api/v1/orgs", headers=admin, json={
        "type": "district", "name": f"Cache district {suffix}", "state_code": "NE", "state_id": f"SC{suffix}", "parent_id": state.json()["id"],
    })
    assert made.status_code == 201, made.text
    return made.json()["state_id"]


async def _served_from_memory(api, district: str) -> int:
    """How many dashboards the gateway has served the district from memory (audited, newest first)."""
    page = await api.get("/api/v1/audit", params={"resource": "dashboard", "limit": 500}, headers=await _headers(api, "district_admin", district))
    assert page.status_code == 200, page.text
    entries = page.json()["items"]
    assert all(e["service"] == "gateway" and e["detail"] == {"served_from": "gateway screen cache"} for e in entries)
    return len(entries)


async def test_a_callers_second_call_is_served_from_memory_and_audited(api, district):
    headers = await _headers(api, "district_admin", district)
    first = await api.get("/app/v1/dashboard", headers=headers)
    assert first.status_code == 200, first.text
    assert first.headers["age"] == "0" and "private" in first.headers["cache-control"]
    assert await _served_from_memory(api, district) == 0

    second = await api.get("/app/v1/dashboard", headers=headers)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert int(second.headers["age"]) >= 0
    assert await _served_from_memory(api, district) == 1


async def test_concurrent_first_calls_are_composed_once(api, district):
    headers = await _headers(api, "district_admin", district)
    answers = await asyncio.gather(*(api.get("/app/v1/dashboard", headers=headers) for _ in range(6)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert await _served_from_memory(api, district) == 5


async def test_no_cache_asks_for_a_fresh_screen(api, district):
    headers = await _headers(api, "district_admin", district)
    await api.get("/app/v1/dashboard", headers=headers)
    fresh = await api.get("/app/v1/dashboard", headers=headers | {"cache-control": "no-cache"})
    assert fresh.status_code == 200 and fresh.headers["age"] == "0"
    assert await _served_from_memory(api, district) == 0


async def test_the_callers_own_write_shows_at_once(api, district):
    headers = await _headers(api, "district_admin", district)
    before = (await api.get("/app/v1/dashboard", headers=headers)).json()
    assert before["overdue_actions"] == []
    owner = jwt.get_unverified_claims(headers["authorization"].removeprefix("Bearer "))["sub"]
    last_week = (dt.date.today() - dt.timedelta(days=7)).isoformat()  # overdue on any district's calendar
    created = await api.post("/api/v1/actions", json={"title": "Call the attendance office", "owner": owner, "due_date": last_week}, headers=headers)
    assert created.status_code == 201, created.text

    after = await api.get("/app/v1/dashboard", headers=headers)
    assert after.headers["age"] == "0"
    assert [a["id"] for a in after.json()["overdue_actions"]] == [created.json()["id"]]
    assert await _served_from_memory(api, district) == 0


async def test_each_caller_has_a_screen_of_their_own(api, district):
    await api.get("/app/v1/dashboard", headers=await _headers(api, "district_admin", district))
    staff = await api.get("/app/v1/dashboard", headers=await _headers(api, "staff", district))
    assert staff.status_code == 200
    assert await _served_from_memory(api, district) == 0  # the staff member's screen was composed for them
