"""Organizations: platform admins create them, everyone signed in reads them."""

from __future__ import annotations

from k12_metrics.main import app


async def test_platform_admin_creates_a_district_and_its_school(app_client, make_token, auth):
    admin = auth(make_token("platform_admin"))
    async with app_client(app) as client:
        state = await client.post("/api/v1/orgs", json={"type": "state", "name": "Missouri", "state_code": "mo", "state_id": "MO-T1"}, headers=admin)
        assert state.status_code == 201, state.text
        assert state.json()["state_code"] == "MO"
        district = await client.post(
            "/api/v1/orgs",
            json={"type": "district", "name": "Hazelwood", "state_code": "MO", "state_id": "T096088", "nces_id": "2914700", "parent_id": state.json()["id"]},
            headers=admin,
        )
        assert district.status_code == 201
        body = district.json()
        assert body["district_id"] == body["id"]
        school = await client.post(
            "/api/v1/orgs",
            json={"type": "school", "name": "Hazelwood East", "state_code": "MO", "state_id": "T096088-1050", "parent_id": body["id"]},
            headers=admin,
        )
        assert school.json()["district_id"] == body["id"]

        duplicate = await client.post(
            "/api/v1/orgs", json={"type": "district", "name": "Again", "state_code": "MO", "nces_id": "2914700", "parent_id": state.json()["id"]}, headers=admin
        )
        assert duplicate.status_code == 409

        orphan = await client.post("/api/v1/orgs", json={"type": "school", "name": "Orphan", "state_code": "MO", "state_id": "X1"}, headers=admin)
        assert orphan.status_code == 422

        staff = auth(make_token("staff", district_ids=[body["id"]]))
        by_nces = await client.get("/api/v1/orgs", params={"nces_id": "2914700"}, headers=staff)
        assert [o["name"] for o in by_nces.json()["items"]] == ["Hazelwood"]
        refused = await client.post("/api/v1/orgs", json={"type": "state", "name": "X", "state_code": "XX"}, headers=staff)
        assert refused.status_code == 403


async def test_list_is_cursor_paginated(app_client, make_token, auth, org_factory):
    state = await org_factory("state", state_code="ZP")
    for i in range(5):
        await org_factory("district", parent=state, state_code="ZP", name=f"Paged {i}")
    headers = auth(make_token("staff"))
    async with app_client(app) as client:
        seen, cursor = [], None
        while True:
            params = {"state": "ZP", "type": "district", "limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/v1/orgs", params=params, headers=headers)).json()
            seen += [o["name"] for o in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == [f"Paged {i}" for i in range(5)]
        bad = await client.get("/api/v1/orgs", params={"cursor": "!!!"}, headers=headers)
        assert bad.status_code == 400


async def test_resolve_finds_or_creates_under_the_parent(app_client, make_token, auth, org_factory):
    state = await org_factory("state", state_code="ZR", state_id="ZR")
    items = [
        {"type": "district", "name": "New district", "state_code": "ZR", "state_id": "D1", "parent_state_id": "ZR"},
        {"type": "school", "name": "New school", "state_code": "ZR", "state_id": "S1", "parent_state_id": "D1"},
    ]
    async with app_client(app) as client:
        service = auth(make_token("service", kind="service"))
        first = await client.post("/internal/orgs/resolve", json={"items": items}, headers=service)
        assert first.status_code == 200, first.text
        assert first.json()["created"] == 2
        again = await client.post("/internal/orgs/resolve", json={"items": items}, headers=service)
        assert again.json() == {"ids": first.json()["ids"], "created": 0}
        school = (await client.get(f"/api/v1/orgs/{first.json()['ids'][1]}", headers=service)).json()
        assert school["parent_id"] == first.json()["ids"][0] == school["district_id"]
        user = await client.post("/internal/orgs/resolve", json={"items": items}, headers=auth(make_token("district_admin")))
        assert user.status_code == 403
    assert state.id


async def test_resolving_thousands_of_orgs_in_one_request(app_client, make_token, auth):
    """A national file names ~4,000 districts and ~23,000 schools: more than one statement's 32,767 parameters."""
    items = [{"type": "state", "name": "Alabama", "state_code": "AL", "state_id": "AL-BIG"}]
    items += [{"type": "district", "name": f"District {i}", "state_code": "AL", "nces_id": f"01{i:05d}", "parent_state_id": "AL-BIG"} for i in range(3500)]
    items += [{"type": "school", "name": f"School {i}", "state_code": "AL", "nces_id": f"01{i % 3500:05d}{i:05d}", "parent_nces_id": f"01{i % 3500:05d}"}
              for i in range(6000)]
    async with app_client(app) as client:
        first = await client.post("/internal/orgs/resolve", json={"items": items}, headers=auth(make_token("service")))
        assert first.status_code == 200, first.text[:500]
        assert first.json()["created"] == len(items) and len(set(first.json()["ids"])) == len(items)
        again = await client.post("/internal/orgs/resolve", json={"items": items}, headers=auth(make_token("service")))
        assert again.json()["created"] == 0 and again.json()["ids"] == first.json()["ids"]
