"""SPA screens: one call, composed from the services; a stopped service leaves its parts missing, not the screen."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(scope="module")
async def api(platform):
    async with httpx.AsyncClient(base_url=platform.url(), timeout=30) as client:
        admin = (await client.post("/auth/dev-token", json={"role": "platform_admin"})).json()["access_token"]
        headers = {"authorization": f"Bearer {admin}"}
        found = (await client.get("/api/v1/orgs", params={"state_id": "SCR-1", "type": "district"}, headers=headers)).json()["items"]
        if not found:
            state = await client.post("/api/v1/orgs", json={"type": "state", "name": "Screens", "state_code": "ZZ", "state_id": "ZZ"}, headers=headers)
            await client.post(
                "/api/v1/orgs",
                json={"type": "district", "name": "Screen district", "state_code": "ZZ", "state_id": "SCR-1", "parent_id": state.json()["id"]},
                headers=headers,
            )
        yield client


async def _token(api, role="district_admin") -> dict:
    token = (await api.post("/auth/dev-token", json={"role": role, "district": "SCR-1"})).json()["access_token"]
    return {"authorization": f"Bearer {token}"}


async def test_dashboard_is_one_call_naming_its_district(api):
    response = await api.get("/app/v1/dashboard", headers=await _token(api))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["district"]["name"] == "Screen district"
    assert isinstance(body["missing"], list)
    assert {p["part"] for p in body["missing"]}.isdisjoint({"district"})


async def test_dashboard_survives_a_stopped_service(api, platform):
    headers = await _token(api)
    platform.stop("routines")
    try:
        response = await api.get("/app/v1/dashboard", headers=headers)
        assert response.status_code == 200
        body = response.json()
        missing = {p["part"]: p["reason"] for p in body["missing"]}
        assert missing["goals"] == "routines unavailable"
        assert body["district"]["name"] == "Screen district"
    finally:
        platform.start("routines")
        platform.wait_healthy("routines")


async def test_another_district_is_refused(api):
    headers = await _token(api)
    response = await api.get("/app/v1/dashboard", params={"district": "00000000-0000-0000-0000-000000000001"}, headers=headers)
    assert response.status_code == 404
