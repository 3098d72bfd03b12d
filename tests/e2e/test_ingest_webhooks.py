"""SIS webhooks end to end: signed Ed-Fi deliveries through the gateway, the queue and the worker, into
private derived observations (real processes; the Grand Bend ISD sample events)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from k12shared.settings import REPO_ROOT

GRAND_BEND = REPO_ROOT / "demo" / "data" / "ed-fi-grand-bend"
HIGH_SCHOOL = "255901001"


@pytest.fixture(scope="module")
async def admin(api):
    token = (await api.post("/auth/dev-token", json={"role": "platform_admin"})).json()["access_token"]
    return {"authorization": f"Bearer {token}"}


async def ensure_org(api, admin, body: dict) -> dict:
    found = (await api.get("/api/v1/orgs", params={"state_id": body["state_id"], "type": body["type"]}, headers=admin)).json()["items"]
    if found:
        return found[0]
    created = await api.post("/api/v1/orgs", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return created.json()


async def texas(api, admin) -> dict:
    return await ensure_org(api, admin, {"type": "state", "name": "Texas", "state_code": "TX", "state_id": "TX"})


async def new_source(api, admin, district_id: str) -> dict:
    response = await api.post("/api/v1/ingest/sis-sources", json={"name": "SIS", "vendor": "Ed-Fi ODS", "district_id": district_id}, headers=admin)
    assert response.status_code == 201, response.text
    source = response.json()
    assert source["secret"].startswith("whsec_")
    return source


def signed(secret: str, body: bytes, *, webhook_id: str | None = None, at: datetime | None = None) -> dict:
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(webhook_id, at, body.decode())
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature, "content-type": "application/json"}


async def deliver(api, source: dict, resource: str, data: list[dict], **sign) -> httpx.Response:
    body = json.dumps({"resource": resource, "action": "upsert", "data": data}).encode()
    return await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=signed(source["secret"], body, **sign))


async def wait_processed(api, admin, source: dict, count: int) -> list[dict]:
    for _ in range(1200):  # a bound so a broken worker fails the test instead of hanging it
        items, cursor = [], None
        while True:
            page = (await api.get(f"/api/v1/ingest/sis-sources/{source['id']}/deliveries", params={"limit": 100, **({"cursor": cursor} if cursor else {})}, headers=admin)).json()
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        if len(items) >= count and all(d["status"] in ("processed", "failed") for d in items):
            return items
        await asyncio.sleep(0.25)
    raise AssertionError(f"deliveries of {source['id']} never all processed")


def sample_events() -> list[dict]:
    return [json.loads(line) for line in (GRAND_BEND / "studentSchoolAttendanceEvents.jsonl").read_text().splitlines() if line.strip()]


async def derived(db, org_id, metric: str, year: int):
    return await db.fetchrow(
        "select * from observations where org_id = $1 and metric_code = $2 and subgroup_code = 'all' and school_year = $3", uuid.UUID(str(org_id)), metric, year
    )


async def test_grand_bend_events_sent_twice_give_exact_absence_counts(api, admin, db):
    district = await ensure_org(api, admin, {"type": "district", "name": "Grand Bend ISD", "state_code": "TX", "state_id": "255901", "edfi_id": "255901", "parent_id": (await texas(api, admin))["id"]})
    source = await new_source(api, admin, district["id"])
    schools = json.loads((GRAND_BEND / "schools.json").read_text())["schools"]
    assert (await deliver(api, source, "schools", schools)).status_code == 202
    events = sample_events()
    assert len(events) == 1917
    sent = 1
    for _round in range(2):  # the whole sample twice, each time as new deliveries: records replace, never add
        for start in range(0, len(events), 250):
            response = await deliver(api, source, "studentSchoolAttendanceEvents", events[start : start + 250])
            assert response.status_code == 202, response.text
            sent += 1
    deliveries = await wait_processed(api, admin, source, sent)
    assert all(d["status"] == "processed" for d in deliveries), [d for d in deliveries if d["status"] != "processed"]

    school = (await api.get("/api/v1/orgs", params={"state_id": HIGH_SCHOOL, "type": "school"}, headers=admin)).json()["items"][0]
    assert school["name"] == "Grand Bend High School"
    excused = await derived(db, school["id"], "excused_absence_days", 2022)
    unexcused = await derived(db, school["id"], "unexcused_absence_days", 2022)
    assert (excused["status"], float(excused["value"])) == ("exact", 389)
    assert (unexcused["status"], float(unexcused["value"])) == ("exact", 230)
    assert excused["visibility"] == unexcused["visibility"] == "district"
    whole = await derived(db, district["id"], "excused_absence_days", 2022)
    assert float(whole["value"]) == 389 + 227 + 461  # the district: its three schools
    tardy = await derived(db, district["id"], "tardy_count", 2022)
    assert float(tardy["value"]) == 66
    assert await db.fetchval("select count(*) from sis_records where district_id = $1 and resource = 'studentSchoolAttendanceEvents'", uuid.UUID(district["id"])) == 1917

    # student ids are pseudonymized on arrival: the SIS id is nowhere, and the raw bodies are gone
    student = events[0]["studentReference"]["studentUniqueId"]
    assert await db.fetchval("select count(*) from sis_records where student_key = $1 or data::text like $2", student, f"%{student}%") == 0
    assert await db.fetchval("select count(*) from sis_webhook_deliveries where source_id = $1 and body is not null", uuid.UUID(source["id"])) == 0

    # derived observations belong to the district: its own users see them, another district's do not
    own = (await api.post("/auth/dev-token", json={"role": "district_admin", "district": district["id"]})).json()["access_token"]
    seen = await api.get("/api/v1/observations", params={"org": school["id"], "metric": "excused_absence_days"}, headers={"authorization": f"Bearer {own}"})
    assert seen.status_code == 200 and [float(o["value"]) for o in seen.json()["items"]] == [389]
    other = await ensure_org(api, admin, {"type": "district", "name": "Other ISD", "state_code": "TX", "state_id": "999001", "parent_id": (await texas(api, admin))["id"]})
    stranger = (await api.post("/auth/dev-token", json={"role": "district_admin", "district": other["id"]})).json()["access_token"]
    hidden = await api.get("/api/v1/observations", params={"org": school["id"], "metric": "excused_absence_days"}, headers={"authorization": f"Bearer {stranger}"})
    assert hidden.status_code in (200, 404) and (hidden.status_code == 404 or hidden.json()["items"] == [])


async def test_tampered_stale_and_repeated_deliveries(api, admin, db):
    district = await ensure_org(api, admin, {"type": "district", "name": "Signed ISD", "state_code": "TX", "state_id": "999002", "parent_id": (await texas(api, admin))["id"]})
    source = await new_source(api, admin, district["id"])
    body = json.dumps({"resource": "studentSchoolAttendanceEvents", "action": "upsert", "data": sample_events()[:3]}).encode()
    headers = signed(source["secret"], body)

    tampered = body.replace(b"Excused", b"Unexcused", 1)
    refused = await api.post(f"/webhooks/sis/{source['id']}", content=tampered, headers=headers)
    assert refused.status_code == 401, refused.text
    stale_at = datetime.now(UTC) - timedelta(minutes=6)
    stale = await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=signed(source["secret"], body, at=stale_at))
    assert stale.status_code == 401
    future = await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=signed(source["secret"], body, at=datetime.now(UTC) + timedelta(minutes=6)))
    assert future.status_code == 401
    wrong_key = await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=signed("whsec_" + "A" * 44, body))
    assert wrong_key.status_code == 401
    unsigned = await api.post(f"/webhooks/sis/{source['id']}", content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code in (400, 401)

    first = await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=headers)
    assert first.status_code == 202 and first.json()["status"] == "queued"
    again = await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=headers)
    assert 200 <= again.status_code < 300 and again.json()["status"] == "duplicate"
    await wait_processed(api, admin, source, 1)
    stored = await db.fetchval("select count(*) from sis_webhook_deliveries where source_id = $1", uuid.UUID(source["id"]))
    assert stored == 1  # refused and repeated deliveries left nothing behind

    # rotation: the old secret keeps verifying during the grace period, the new one works at once
    rotated = (await api.post(f"/api/v1/ingest/sis-sources/{source['id']}/rotate-secret", headers=admin)).json()
    assert rotated["secret"] != source["secret"]
    old = await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=signed(source["secret"], body))
    new = await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=signed(rotated["secret"], body))
    assert (old.status_code, new.status_code) == (202, 202)


async def test_quarantine_is_applied_once_the_school_exists_and_small_counts_are_suppressed(api, admin, db):
    lea = f"98{int(time.time() * 1000) % 10**4:04d}"
    district = await ensure_org(api, admin, {"type": "district", "name": "Small ISD", "state_code": "TX", "state_id": lea, "edfi_id": lea, "parent_id": (await texas(api, admin))["id"]})
    source = await new_source(api, admin, district["id"])
    school_id = f"{lea}001"
    events = [
        {
            "attendanceEventCategoryDescriptor": "uri://ed-fi.org/AttendanceEventCategoryDescriptor#Unexcused Absence",
            "eventDate": f"2021-10-{day:02d}",
            "eventDuration": 1.0,
            "schoolReference": {"schoolId": int(school_id)},
            "sessionReference": {"schoolId": int(school_id), "schoolYear": 2022, "sessionName": "2021-2022 Fall Semester"},
            "studentReference": {"studentUniqueId": f"S{student}"},
        }
        for student in range(3)
        for day in range(4, 8)
    ]
    assert (await deliver(api, source, "studentSchoolAttendanceEvents", events)).status_code == 202
    [held] = await wait_processed(api, admin, source, 1)
    assert held["quarantined"] == len(events)
    quarantine = (await api.get(f"/api/v1/ingest/sis-sources/{source['id']}/quarantine", headers=admin)).json()["items"]
    assert len(quarantine) == len(events) and {q["school_ref"] for q in quarantine} == {school_id}
    assert await db.fetchval("select count(*) from observations where district_id = $1", uuid.UUID(district["id"])) == 0

    school = {"schoolId": int(school_id), "nameOfInstitution": "Small Elementary", "localEducationAgencyReference": {"localEducationAgencyId": int(lea)}}
    assert (await deliver(api, source, "schools", [school])).status_code == 202
    await wait_processed(api, admin, source, 2)
    assert (await api.get(f"/api/v1/ingest/sis-sources/{source['id']}/quarantine", headers=admin)).json()["items"] == []
    assert await db.fetchval("select count(*) from sis_records where district_id = $1", uuid.UUID(district["id"])) == len(events)
    created = (await api.get("/api/v1/orgs", params={"state_id": school_id, "type": "school"}, headers=admin)).json()["items"][0]
    # three students: below the threshold, so stored as suppressed, with no value and no n
    cell = await derived(db, created["id"], "unexcused_absence_days", 2022)
    assert (cell["status"], cell["value"], cell["denominator"], cell["visibility"]) == ("suppressed", None, None, "district")
    total = await derived(db, district["id"], "unexcused_absence_days", 2022)
    assert total["status"] == "suppressed"  # the district's total would be the one school's count
