"""A district's latest data loads: the state files that brought it data and its SIS feeds, only its own
(real processes: gateway, ingest API and worker)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture(scope="module")
async def platform_admin(api):
    token = (await api.post("/auth/dev-token", json={"role": "platform_admin"})).json()["access_token"]
    return {"authorization": f"Bearer {token}"}


async def _district(api, platform_admin) -> tuple[str, dict]:
    """A new district and its admin's headers."""
    nces = f"98{uuid.uuid4().int % 10**5:05d}"  # 98: no state has this FIPS code
    body = {"type": "district", "name": f"Loads {nces}", "state_code": "MO", "nces_id": nces, "state_id": f"D{nces}"}
    created = await api.post("/api/v1/orgs", json=body, headers=platform_admin)
    assert created.status_code == 201, created.text
    token = (await api.post("/auth/dev-token", json={"role": "district_admin", "district": created.json()["id"]})).json()["access_token"]
    return created.json()["id"], {"authorization": f"Bearer {token}"}


async def _load_long_file(api, platform_admin, rows: list[str]) -> dict:
    content = ("org_id,metric,subgroup,period,value,n\n" + "\n".join(rows) + "\n").encode()
    queued = await api.post("/api/v1/ingest/uploads", data={"profile": "long-format"}, files={"file": ("f.csv", content, "text/csv")}, headers=platform_admin)
    assert queued.status_code == 202, queued.text
    for _ in range(3000):  # a bound so a broken worker fails the test instead of hanging it
        job = (await api.get(f"/api/v1/ingest/jobs/{queued.json()['id']}", headers=platform_admin)).json()
        if job["status"] in TERMINAL:
            assert job["status"] == "succeeded", job
            return job
        await asyncio.sleep(0.1)
    raise AssertionError("the job never finished")


async def _loads(api, headers, **params) -> httpx.Response:
    return await api.get("/api/v1/ingest/loads", params=params, headers=headers)


async def test_a_district_sees_the_files_that_brought_it_data_and_no_other_districts(api, platform_admin):
    district_a, admin_a = await _district(api, platform_admin)
    district_b, admin_b = await _district(api, platform_admin)
    rows_a = [f"{district_a},enrollment,all,{year}-{str(year + 1)[2:]},{1000 + year}," for year in (2021, 2022, 2023)]
    first = await _load_long_file(api, platform_admin, [*rows_a, f"{district_b},enrollment,all,2022-23,500,"])

    [load] = (await _loads(api, admin_a)).json()["items"]
    assert load["id"] == first["id"] and (load["kind"], load["source"], load["status"]) == ("upload", "long-format", "succeeded")
    assert (load["observations"], load["observations_changed"]) == (3, 3)  # A's three rows, not B's
    assert datetime.fromisoformat(load["loaded_at"]) <= datetime.now(UTC)

    again = await _load_long_file(api, platform_admin, rows_a)  # the same numbers again: nothing new
    newest, older = (await _loads(api, admin_a)).json()["items"]
    assert (newest["id"], newest["observations"], newest["observations_changed"]) == (again["id"], 3, 0)
    assert older["id"] == first["id"]

    # B sees the first file (one observation of its own) and not the second, which had none of B's.
    assert [(x["id"], x["observations"]) for x in (await _loads(api, admin_b)).json()["items"]] == [(first["id"], 1)]
    # Naming another district is answered as if it did not exist; a platform admin must name one.
    assert (await _loads(api, admin_b, district=district_a)).status_code == 404
    assert (await _loads(api, platform_admin)).status_code == 422
    assert [x["id"] for x in (await _loads(api, platform_admin, district=district_a, limit=1)).json()["items"]] == [again["id"]]


async def test_an_sis_feed_shows_its_latest_delivery(api, platform_admin):
    district, admin = await _district(api, platform_admin)
    created = await api.post("/api/v1/ingest/sis-sources", json={"name": "Student information", "vendor": "Ed-Fi ODS"}, headers=admin)
    assert created.status_code == 201, created.text
    source = created.json()
    [waiting] = (await _loads(api, admin)).json()["items"]
    assert (waiting["id"], waiting["kind"], waiting["source"], waiting["status"], waiting["loaded_at"]) == (source["id"], "sis", "Student information", "none", None)

    body = json.dumps({"resource": "schools", "action": "upsert", "data": []}).encode()
    webhook_id, at = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())), "content-type": "application/json",
               "webhook-signature": Webhook(source["secret"]).sign(webhook_id, at, body.decode())}
    assert (await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=headers)).status_code == 202
    for _ in range(400):
        [fed] = (await _loads(api, admin)).json()["items"]
        if fed["status"] == "processed":
            break
        await asyncio.sleep(0.1)
    assert (fed["status"], fed["observations"]) == ("processed", 0) and fed["loaded_at"] is not None


async def test_the_dashboard_shows_the_districts_data_loads(api, platform_admin):
    district, admin = await _district(api, platform_admin)
    job = await _load_long_file(api, platform_admin, [f"{district},enrollment,all,2023-24,812,"])
    screen = (await api.get("/app/v1/dashboard", headers={**admin, "cache-control": "no-cache"})).json()
    assert "data_loads" not in {m["part"] for m in screen["missing"]}
    assert [(x["id"], x["source"], x["observations"]) for x in screen["data_loads"]] == [(job["id"], "long-format", 1)]
