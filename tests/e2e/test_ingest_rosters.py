"""OneRoster exports end to end: a district admin uploads a roster zip through the gateway; its schools and
enrollments go through the SIS worker into private, small-count-suppressed enrollment observations. The
same archive again changes nothing; zip bombs and other districts are refused, leaving nothing behind."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile

import httpx

PROBLEM = "application/problem+json"
SCHOOL_SIZES = {"A": 12, "B": 11, "C": 3}  # C is under the threshold; B is hidden with it, else C = total - A - B


async def bearer(api, role: str, district: str | None = None) -> dict:
    body = {"role": role, **({"district": district} if district else {})}
    return {"authorization": f"Bearer {(await api.post('/auth/dev-token', json=body)).json()['access_token']}"}


async def new_district(api, admin, name: str) -> dict:
    texas = (await api.get("/api/v1/orgs", params={"state_id": "TX", "type": "state"}, headers=admin)).json()["items"]
    if not texas:
        texas = [(await api.post("/api/v1/orgs", json={"type": "state", "name": "Texas", "state_code": "TX", "state_id": "TX"}, headers=admin)).json()]
    lea = f"97{uuid.uuid4().int % 10**4:04d}"
    body = {"type": "district", "name": name, "state_code": "TX", "state_id": lea, "edfi_id": lea, "parent_id": texas[0]["id"]}
    created = await api.post("/api/v1/orgs", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return created.json()


def roster_zip(lea: str) -> bytes:
    """A OneRoster 1.1 bulk export: three schools, each student in two classes, a teacher, names in users.csv."""
    orgs = ["sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId", f"dist,active,,Roster ISD,district,{lea},"]
    orgs += [f"sch-{s},active,,Roster {s} School,school,{lea}00{i},dist" for i, s in enumerate(SCHOOL_SIZES, 1)]
    sessions = ["sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear", "fall,active,,Fall 2024,term,2024-08-19,2024-12-20,,2025"]
    classes = ["sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods"]
    enrollments = ["sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate"]
    users = ["sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName"]
    for s, size in SCHOOL_SIZES.items():
        for c in (1, 2):
            classes.append(f"cls-{s}{c},active,,Class {c},09,crs,{c},scheduled,Room,sch-{s},fall,,,1")
            enrollments.append(f"enr-t-{s}{c},active,,cls-{s}{c},sch-{s},tch-{s},teacher,true,2024-08-19,2024-12-20")
            enrollments += [f"enr-{s}{c}-{n},active,,cls-{s}{c},sch-{s},stu-{s}-{n},student,false,,2024-12-20" for n in range(size)]
        users += [f"stu-{s}-{n},active,,TRUE,sch-{s},student,pupil{n},,Zelda{n},Quartermaine" for n in range(size)]
    members = {"manifest.csv": "propertyName,value\noneroster.version,1.1\n", "orgs.csv": orgs, "academicSessions.csv": sessions,
               "classes.csv": classes, "enrollments.csv": enrollments, "users.csv": users}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, lines in members.items():
            zf.writestr(name, lines if isinstance(lines, str) else "\n".join(lines) + "\n")
    return buffer.getvalue()


def bomb_zip() -> bytes:
    """Small on the wire, 200 MiB unpacked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("orgs.csv", "sourcedId,name,type\n")
        with zf.open("enrollments.csv", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(200):
                member.write(block)
    return buffer.getvalue()


async def upload(api, headers, source_id: str, archive: bytes) -> httpx.Response:
    return await api.post("/api/v1/ingest/rosters", files={"file": ("roster.zip", archive, "application/zip")}, data={"source_id": source_id}, headers=headers)


async def wait_processed(api, headers, source_id: str, count: int) -> list[dict]:
    for _ in range(1200):  # bounded: a broken worker fails the test instead of hanging it
        items = (await api.get(f"/api/v1/ingest/sis-sources/{source_id}/deliveries", params={"limit": 100}, headers=headers)).json()["items"]
        if len(items) >= count and all(d["status"] in ("processed", "failed") for d in items):
            return items
        await asyncio.sleep(0.25)
    raise AssertionError("roster deliveries never processed")


async def enrollment(db, org_id: str):
    return await db.fetchrow(
        "select status, value, denominator, visibility from observations where org_id = $1 and metric_code = 'enrollment' and subgroup_code = 'all' and school_year = 2025",
        uuid.UUID(org_id),
    )


async def test_a_roster_gives_private_suppressed_enrollment_once_and_bombs_are_refused(api, db):
    platform_admin = await bearer(api, "platform_admin")
    district = await new_district(api, platform_admin, "Roster ISD")
    admin = await bearer(api, "district_admin", district["id"])
    source = (await api.post("/api/v1/ingest/sis-sources", json={"name": "Clever", "vendor": "OneRoster"}, headers=admin)).json()
    archive = roster_zip(district["state_id"])

    accepted = await upload(api, admin, source["id"], archive)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert (body["status"], body["oneroster_version"], body["schools"], body["student_school_associations"]) == ("queued", "1.1", 3, 26)
    assert body["ignored_members"] == ["users.csv"] and body["rows_skipped"] == 0
    deliveries = await wait_processed(api, admin, source["id"], 2)
    assert [d["status"] for d in deliveries] == ["processed", "processed"], deliveries

    schools = {}
    for i, s in enumerate(SCHOOL_SIZES, 1):
        found = (await api.get("/api/v1/orgs", params={"state_id": f"{district['state_id']}00{i}", "type": "school"}, headers=admin)).json()["items"]
        assert [o["name"] for o in found] == [f"Roster {s} School"] and found[0]["parent_id"] == district["id"]
        schools[s] = found[0]["id"]
    a, b, c, whole = [await enrollment(db, org) for org in (schools["A"], schools["B"], schools["C"], district["id"])]
    assert (a["status"], float(a["value"]), a["visibility"]) == ("exact", 12, "district")
    assert (b["status"], b["value"], c["status"], c["value"]) == ("suppressed", None, "suppressed", None)
    assert (whole["status"], float(whole["value"])) == ("exact", 26)

    # no student id, no name: only keyed pseudonyms are kept, and the raw bodies are gone once applied
    kept = await db.fetchval(
        "select count(*) from sis_records where district_id = $1 and (student_key like 'stu-%' or data::text ~ 'stu-|Zelda|Quartermaine')", uuid.UUID(district["id"])
    )
    assert kept == 0
    assert await db.fetchval("select count(*) from sis_webhook_deliveries where source_id = $1 and body is not null", uuid.UUID(source["id"])) == 0

    again = await upload(api, admin, source["id"], archive)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert [d["delivery_id"] for d in again.json()["deliveries"]] == [None, None]

    bomb = await upload(api, admin, source["id"], bomb_zip())
    assert bomb.status_code == 413 and bomb.headers["content-type"].startswith(PROBLEM), bomb.text
    assert bomb.json()["member"] == "enrollments.csv" and "zip bomb" in bomb.json()["detail"]
    not_zip = await upload(api, admin, source["id"], b"sourcedId,name\n")
    assert not_zip.status_code == 422 and not_zip.json()["field"] == "file"
    count = await db.fetchval("select count(*) from sis_webhook_deliveries where source_id = $1", uuid.UUID(source["id"]))
    assert count == 2  # the duplicate, the bomb and the non-zip left nothing behind


async def test_only_the_sources_district_may_send_its_roster(api, db):
    platform_admin = await bearer(api, "platform_admin")
    district = await new_district(api, platform_admin, "Guarded ISD")
    stranger_district = await new_district(api, platform_admin, "Stranger ISD")
    admin = await bearer(api, "district_admin", district["id"])
    source = (await api.post("/api/v1/ingest/sis-sources", json={"name": "SIS", "vendor": "OneRoster"}, headers=admin)).json()
    archive = roster_zip(district["state_id"])

    stranger = await upload(api, await bearer(api, "district_admin", stranger_district["id"]), source["id"], archive)
    staff = await upload(api, await bearer(api, "staff", district["id"]), source["id"], archive)
    client = (await api.post("/api/v1/api-clients", json={"name": "Reader", "scopes": ["metrics:read"]}, headers=admin)).json()
    issued = await api.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]})
    reader = await upload(api, {"authorization": f"Bearer {issued.json()['access_token']}"}, source["id"], archive)
    anonymous = await upload(api, {}, source["id"], archive)
    assert (stranger.status_code, staff.status_code, reader.status_code, anonymous.status_code) == (404, 403, 403, 401)
    assert all(r.headers["content-type"].startswith(PROBLEM) for r in (stranger, staff, reader, anonymous))
    assert await db.fetchval("select count(*) from sis_webhook_deliveries where source_id = $1", uuid.UUID(source["id"])) == 0
