"""Faults under the SPA's dashboard: an upstream stopped, or frozen (it takes the connection and never
answers). The gateway answers a partial screen naming what is missing, within its part timeout, and
never hangs; once the service is back the screen is whole again.

(test_screens.py covers routines-api stopped; here metrics-api stopped and frozen, and both stopped.)
"""

from __future__ import annotations

import signal

import httpx
import pytest

# Well above the gateway's per-part timeout (3 s) and below anything a user would wait for: a hang fails here.
CLIENT_TIMEOUT_S = 20
METRICS_PARTS = {"district", "score", "points_at_risk", "equity_gaps"}
ROUTINES_PARTS = {"goals", "overdue_actions", "due_soon_actions", "next_meetings"}


@pytest.fixture(scope="module")
async def api(platform):
    async with httpx.AsyncClient(base_url=platform.url(), timeout=CLIENT_TIMEOUT_S) as client:
        yield client


@pytest.fixture(scope="module")
async def admin(api):
    admin = {"authorization": f"Bearer {(await api.post('/auth/dev-token', json={'role': 'platform_admin'})).json()['access_token']}"}
    if not (await api.get("/api/v1/orgs", params={"state_id": "FLT-1", "type": "district"}, headers=admin)).json()["items"]:
        state = await api.post("/api/v1/orgs", json={"type": "state", "name": "Faults", "state_code": "FT", "state_id": "FT"}, headers=admin)
        await api.post("/api/v1/orgs", json={"type": "district", "name": "Fault district", "state_code": "FT", "state_id": "FLT-1", "parent_id": state.json()["id"]}, headers=admin)
    token = (await api.post("/auth/dev-token", json={"role": "district_admin", "district": "FLT-1"})).json()["access_token"]
    return {"authorization": f"Bearer {token}"}


def _missing(body: dict) -> dict[str, str]:
    return {p["part"]: p["reason"] for p in body["missing"]}


async def test_metrics_stopped_leaves_its_parts_missing_and_the_rest_whole(api, admin, platform):
    platform.stop("metrics")
    try:
        response = await api.get("/app/v1/dashboard", headers=admin)
        assert response.status_code == 200, response.text
        body = response.json()
        missing = _missing(body)
        assert all(missing.get(part) == "metrics unavailable" for part in METRICS_PARTS), missing
        assert all(body[part] is not None and part not in missing for part in ROUTINES_PARTS), missing
    finally:
        platform.start("metrics")
        platform.wait_healthy("metrics")
    whole = (await api.get("/app/v1/dashboard", headers=admin)).json()
    assert not set(_missing(whole)) & {"district"}


async def test_a_frozen_service_times_out_its_parts_instead_of_hanging_the_screen(api, admin, platform):
    process = platform.processes["metrics"]
    process.send_signal(signal.SIGSTOP)  # the port stays open, nobody answers
    try:
        response = await api.get("/app/v1/dashboard", headers=admin)
    finally:
        process.send_signal(signal.SIGCONT)
    assert response.status_code == 200, response.text
    missing = _missing(response.json())
    assert all(missing.get(part) == "metrics timed out" for part in METRICS_PARTS), missing
    assert not set(missing) & ROUTINES_PARTS, missing
    platform.wait_healthy("metrics")


async def test_both_services_stopped_still_answers_with_everything_named_missing(api, admin, platform):
    platform.stop("metrics")
    platform.stop("routines")
    try:
        response = await api.get("/app/v1/dashboard", headers=admin)
        assert response.status_code in (200, 503), response.text
        assert response.headers["content-type"].startswith(("application/json", "application/problem+json"))
        if response.status_code == 200:
            assert METRICS_PARTS | ROUTINES_PARTS <= set(_missing(response.json()))
        ready = await api.get("/readyz")
        assert ready.status_code == 503
    finally:
        for name in ("metrics", "routines"):
            platform.start(name)
        for name in ("metrics", "routines"):
            platform.wait_healthy(name)
    assert (await api.get("/app/v1/dashboard", headers=admin)).status_code == 200
