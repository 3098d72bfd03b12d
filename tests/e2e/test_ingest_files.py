"""State files through the gateway, the ingest API and its worker, into observations (real processes)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from k12shared.settings import REPO_ROOT

DATA = REPO_ROOT / "demo" / "data"
MISSOURI = DATA / "missouri-dese"
EDFACTS = DATA / "edfacts"
TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture(scope="module")
async def admin(platform):
    async with httpx.AsyncClient(base_url=platform.url(), timeout=120) as client:
        token = (await client.post("/auth/dev-token", json={"role": "platform_admin"})).json()["access_token"]
        client.headers["authorization"] = f"Bearer {token}"
        yield client


async def upload(admin, profile: str, content: bytes, name: str = "file.csv") -> dict:
    response = await admin.post("/api/v1/ingest/uploads", data={"profile": profile}, files={"file": (name, content, "text/csv")})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued"
    return job


async def wait_job(admin, job_id: str, statuses=TERMINAL) -> dict:
    for _ in range(3000):  # a bound so a broken worker fails the test instead of hanging it
        job = (await admin.get(f"/api/v1/ingest/jobs/{job_id}")).json()
        if job["status"] in statuses:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {statuses}: {job}")


async def load(admin, profile: str, content: bytes, name: str = "file.csv") -> dict:
    job = await wait_job(admin, (await upload(admin, profile, content, name))["id"])
    return job


async def observation(db, *, metric: str, subgroup: str, year: int, nces_id: str | None = None, state_id: str | None = None, org_type=None):
    where = "o.nces_id = $4" if nces_id else "o.state_id = $4 and o.type = $5"
    args = [metric, subgroup, year, nces_id or state_id] + ([] if nces_id else [org_type or "district"])
    return await db.fetchrow(
        f"""select ob.* from observations ob join organizations o on o.id = ob.org_id
            where ob.metric_code = $1 and ob.subgroup_code = $2 and ob.school_year = $3 and {where}""",
        *args,
    )


async def test_profiles_are_listed_and_versioned(admin):
    listed = (await admin.get("/api/v1/ingest/profiles", params={"limit": 100})).json()["items"]
    codes = {p["code"] for p in listed}
    assert {
        "edfacts-acgr-school",
        "mo-dese-district-graduation",
        "mo-dese-district-attendance",
        "mo-dese-district-demographics",
        "mo-dese-district-discipline",
        "mo-dese-district-staff-ratio",
        "long-format",
    } <= codes
    base = (await admin.get("/api/v1/ingest/profiles/long-format")).json()
    created = await admin.post("/api/v1/ingest/profiles", json={"code": "e2e-long", "name": "E2E long", "definition": base["definition"]})
    assert created.status_code == 201, created.text
    changed = await admin.put("/api/v1/ingest/profiles/e2e-long", json={"definition": {**base["definition"], "delimiter": ";"}})
    assert changed.json()["version"] == 2
    assert (await admin.get("/api/v1/ingest/profiles/e2e-long", params={"version": 1})).json()["definition"]["delimiter"] == ","
    bad = await admin.post("/api/v1/ingest/profiles", json={"code": "e2e-bad", "name": "x", "definition": {"format": "wide", "org": {}, "period": {}}})
    assert bad.status_code == 422


async def test_missouri_graduation_loads_exactly_and_a_reupload_changes_nothing(admin, db):
    content = (MISSOURI / "adjusted-cohort-graduation-rate-data.csv").read_bytes()
    job = await load(admin, "mo-dese-district-graduation", content)
    assert job["status"] == "succeeded", job
    assert job["rows_read"] == 338 and job["rows_rejected"] == 0
    # 2023, 115914: 62 of 90 graduated in 4 years, 68.89%
    row = await observation(db, metric="graduation_rate_4yr", subgroup="all", year=2023, state_id="115914")
    assert row["status"] == "exact" and float(row["value"]) == 68.89
    assert float(row["numerator"]) == 62 and float(row["denominator"]) == 90
    assert row["visibility"] == "public" and row["batch_id"] == uuid.UUID(job["id"])
    # the extract writes 0 where DESE publishes '*': stored as suppressed, never as 0
    hidden = await observation(db, metric="graduation_rate_4yr", subgroup="asian", year=2023, state_id="115914")
    assert hidden["status"] == "suppressed" and hidden["value"] is None

    again = await load(admin, "mo-dese-district-graduation", content)
    assert again["status"] == "succeeded"
    assert again["observations_changed"] == 0 and again["observations_unchanged"] == job["observations_changed"]
    assert again["result"]["unchanged"] is True and again["result"]["identical_to_job"] == job["id"]
    assert again["message"].startswith("no change")
    still = await observation(db, metric="graduation_rate_4yr", subgroup="all", year=2023, state_id="115914")
    assert still["batch_id"] == uuid.UUID(job["id"])


@pytest.mark.parametrize(
    ("profile", "file", "metric", "subgroup", "expected"),
    [
        ("mo-dese-district-attendance", "proportional-attendance-rates-data.csv", "proportional_attendance", "all", 43.6),
        ("mo-dese-district-demographics", "demographic-data.csv", "enrollment", "black", 2373),
        ("mo-dese-district-discipline", "discipline-incidents-data.csv", "discipline_incident_rate", "all", 8.2),
        ("mo-dese-district-staff-ratio", "student-staff-ratio-data.csv", "students_per_teacher", "all", None),
    ],
)
async def test_missouri_files_load(admin, db, profile, file, metric, subgroup, expected):
    job = await load(admin, profile, (MISSOURI / file).read_bytes())
    assert job["status"] == "succeeded", job
    assert job["rows_rejected"] == 0 and job["observations_changed"] > 0
    if expected is not None:
        row = await observation(db, metric=metric, subgroup=subgroup, year=2023, state_id="115914")
        assert row["status"] == "exact" and float(row["value"]) == expected


async def test_edfacts_both_layouts_keep_protected_values(admin, db):
    first = await load(admin, "edfacts-acgr-school", (EDFACTS / "acgr-sch-sy2015-16.csv").read_bytes())
    assert first["status"] == "succeeded", first["message"]
    assert first["rows_read"] == 23090 and first["rows_rejected"] == 0
    albertville = "010000500871"
    expected_2016 = {
        "all": ("exact", 92, None, None, 296),
        "american_indian": ("suppressed", None, None, None, 2),
        "black": ("lower_bound", None, 50, None, 9),
        "hispanic": ("lower_bound", None, 95, None, 91),
        "multiracial": ("not_applicable", None, None, None, None),
        "white": ("range", None, 90, 94, 193),
        "swd": ("range", None, 60, 79, 18),
    }
    for subgroup, (status, value, lower, upper, n) in expected_2016.items():
        row = await observation(db, metric="graduation_rate_4yr", subgroup=subgroup, year=2016, nces_id=albertville)
        assert row is not None, subgroup
        got = (row["status"], row["value"], row["lower"], row["upper"], row["denominator"])
        assert got == (status, value, lower, upper, n), (subgroup, got)
    ps = await observation(db, metric="graduation_rate_4yr", subgroup="american_indian", year=2016, nces_id=albertville)
    assert ps["published_as"] == "PS"
    ge = await observation(db, metric="graduation_rate_4yr", subgroup="hispanic", year=2016, nces_id=albertville)
    assert ge["published_as"] == "GE95" and ge["lower_inclusive"] is True

    second = await load(admin, "edfacts-acgr-school", (EDFACTS / "acgr-sch-sy2016-17.csv").read_bytes())
    assert second["status"] == "succeeded", second["message"]
    assert second["rows_read"] == 23129 and second["rows_rejected"] == 0
    row = await observation(db, metric="graduation_rate_4yr", subgroup="all", year=2017, nces_id=albertville)
    assert (row["status"], float(row["value"]), float(row["denominator"])) == ("exact", 93, 311)
    school = await db.fetchrow("select * from organizations where nces_id = $1 and type = 'school'", albertville)
    district = await db.fetchrow("select * from organizations where id = $1", school["parent_id"])
    assert (school["name"], district["nces_id"], district["type"]) == ("Albertville High Sch", "0100005", "district")
    assert school["district_id"] == district["id"] == row["district_id"]
    assert school["state_code"] == "AL"


async def _long_org(admin, db) -> tuple[str, str]:
    nces = f"99{uuid.uuid4().int % 10**5:05d}"  # 99: no state has this FIPS code, so no real district collides
    state = await db.fetchval("select id from organizations where type = 'state' and state_code = 'MO' limit 1")
    body = {"type": "district", "name": f"Long {nces}", "state_code": "MO", "nces_id": nces, "state_id": f"L{nces}", "parent_id": str(state) if state else None}
    created = await admin.post("/api/v1/orgs", json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"], nces


async def test_a_broken_file_names_its_lines_and_loads_the_good_rows(admin, db):
    org_id, nces = await _long_org(admin, db)
    lines = [
        "Exported by the state, 2024",  # a title line before the header
        "ORG_ID;Metric;Subgroup;Period;Value;N".replace(";", ","),
        f"{org_id},graduation_rate_4yr,all,2015-16,91.5,200",
        f"{org_id},graduation_rate_4yr,BL7,2015-16,PS,4",
        f"{org_id},graduation_rate_4yr,hispanic,2015-16,abc,40",  # unparseable
        f"{org_id},graduation_rate_4yr,white,2015-16,104,120",  # rate outside 0-100
        f"{org_id},graduation_rate_4yr,martian,2015-16,80,12",  # unknown subgroup
        f"{org_id},graduation_rate_4yr,asian",  # short row
        f"{nces},graduation_rate_4yr,econ_disadv,2015-16,GE80,60",
        f"{nces},enrollment,all,2015-16,1200,",
        f"{org_id},enrollment,ell,2015-16,LT10,",
        f"{nces},enrollment,swd,2015-16,{'9'}0,",
        f"{nces},enrollment,white,2015-16,500,",
        f"{nces},enrollment,black,2015-16,300,",
        f"{nces},enrollment,hispanic,2015-16,100,",
        f"{nces},enrollment,asian,2015-16,50,",
        f"{nces},enrollment,multiracial,2015-16,40,",
        f"{nces},enrollment,american_indian,2015-16,20,",
        f"{nces},enrollment,pacific_islander,2015-16,10,",
        f"{nces},enrollment,econ_disadv,2015-16,400,",
        "São Tomé,enrollment,all,2015-16,1,",  # unknown organization, latin-1 encoded
    ]
    lines += [f"{nces},enrollment,all,{y - 1}-{str(y)[-2:]},{1000 + y % 100}," for y in range(2000, 2040)]  # good rows
    content = ("\r\n".join(lines) + "\r\n").encode("latin-1")
    job = await load(admin, "long-format", content)
    assert job["status"] == "succeeded", job
    assert (job["rows_read"], job["rows_rejected"], job["rows_loaded"]) == (59, 5, 54)
    errors = (await admin.get(f"/api/v1/ingest/jobs/{job['id']}/errors")).json()["items"]
    by_line = {e["line"]: e for e in errors}
    assert set(by_line) == {5, 6, 7, 8, 21}
    assert "unparseable" in by_line[5]["reason"] and by_line[5]["column"] == "Value"
    assert "outside 0–100" in by_line[6]["reason"]
    assert "unknown subgroup code 'martian'" in by_line[7]["reason"]
    assert "short row" in by_line[8]["reason"]
    assert "unknown organization 'São Tomé'" in by_line[21]["reason"]
    csv_errors = await admin.get(f"/api/v1/ingest/jobs/{job['id']}/errors", params={"format": "csv"})
    assert csv_errors.headers["content-type"].startswith("text/csv")
    assert csv_errors.text.splitlines()[0] == "line,column,reason,raw" and len(csv_errors.text.splitlines()) == 6

    black = await observation(db, metric="graduation_rate_4yr", subgroup="black", year=2016, nces_id=nces)
    assert (black["status"], black["published_as"], float(black["denominator"])) == ("suppressed", "PS", 4)
    ecd = await observation(db, metric="graduation_rate_4yr", subgroup="econ_disadv", year=2016, nces_id=nces)
    assert (ecd["status"], float(ecd["lower"])) == ("lower_bound", 80)
    ell = await observation(db, metric="enrollment", subgroup="ell", year=2016, nces_id=nces)
    assert (ell["status"], float(ell["upper"]), ell["upper_inclusive"]) == ("upper_bound", 10, False)
    assert await observation(db, metric="graduation_rate_4yr", subgroup="hispanic", year=2016, nces_id=nces) is None


async def test_too_many_bad_rows_load_nothing(admin, db):
    org_id, nces = await _long_org(admin, db)
    rows = ["org_id,metric,subgroup,period,value,n", f"{org_id},enrollment,all,2017-18,100,"]
    rows += [f"{org_id},enrollment,all,2017-18,lots,"] * 3
    job = await load(admin, "long-format", "\n".join(rows).encode())
    assert job["status"] == "failed" and job["rows_rejected"] == 3
    assert "nothing was loaded" in job["message"]
    assert len((await admin.get(f"/api/v1/ingest/jobs/{job['id']}/errors")).json()["items"]) == 3
    assert await observation(db, metric="enrollment", subgroup="all", year=2018, nces_id=nces) is None


async def test_missing_required_columns_are_named(admin):
    job = await load(admin, "long-format", b"org_id,metric,value\nx,enrollment,1\n")
    assert job["status"] == "failed"
    assert "subgroup" in job["message"] and "period" in job["message"]


async def test_a_corrected_file_replaces_values_and_keeps_history(admin, db):
    org_id, nces = await _long_org(admin, db)
    header = "org_id,metric,subgroup,period,value,n\n"
    first = await load(admin, "long-format", (header + f"{org_id},graduation_rate_4yr,all,2019-20,88.1,150\n").encode())
    second = await load(admin, "long-format", (header + f"{org_id},graduation_rate_4yr,all,2019-20,89.4,151\n").encode())
    assert first["status"] == second["status"] == "succeeded"
    assert second["observations_changed"] == 1 and second["result"]["observations_updated"] == 1
    row = await observation(db, metric="graduation_rate_4yr", subgroup="all", year=2020, nces_id=nces)
    assert float(row["value"]) == 89.4 and row["batch_id"] == uuid.UUID(second["id"])
    history = await db.fetch("select * from observation_history where org_id = $1 and metric_code = 'graduation_rate_4yr'", uuid.UUID(org_id))
    assert [(float(h["value"]), h["batch_id"], h["replaced_by_batch_id"]) for h in history] == [
        (88.1, uuid.UUID(first["id"]), uuid.UUID(second["id"]))
    ]


async def test_an_observation_named_twice_takes_the_files_last_line(admin, db):
    org_id, nces = await _long_org(admin, db)
    rows = [
        "org_id,metric,subgroup,period,value,n",
        f"{org_id},graduation_rate_4yr,all,2012-13,70.1,100",
        f"{org_id},graduation_rate_4yr,all,2012-13,71.2,101",  # the same key again: this line wins
        f"{org_id},graduation_rate_4yr,black,2012-13,60,40",
        f"{nces},graduation_rate_4yr,black,2012-13,PS,40",  # the same organization by its NCES id: this line wins
        f"{org_id},graduation_rate_4yr,white,2012-13,GE95,80",
    ]
    job = await load(admin, "long-format", ("\n".join(rows) + "\n").encode())
    assert job["status"] == "succeeded", job
    assert job["rows_loaded"] == 5 and job["result"]["observations_in_file"] == 3 and job["observations_changed"] == 3
    every = await observation(db, metric="graduation_rate_4yr", subgroup="all", year=2013, nces_id=nces)
    assert (float(every["value"]), float(every["denominator"])) == (71.2, 101)
    black = await observation(db, metric="graduation_rate_4yr", subgroup="black", year=2013, nces_id=nces)
    assert (black["status"], black["value"], black["published_as"]) == ("suppressed", None, "PS")
    white = await observation(db, metric="graduation_rate_4yr", subgroup="white", year=2013, nces_id=nces)
    assert (white["status"], float(white["lower"]), white["lower_inclusive"]) == ("lower_bound", 95, True)


async def test_a_queued_job_can_be_cancelled(platform, admin, db):
    org_id, nces = await _long_org(admin, db)
    platform.stop("ingest-worker")
    try:
        job = await upload(admin, "long-format", f"org_id,metric,subgroup,period,value,n\n{org_id},enrollment,all,2020-21,10,\n".encode())
        cancelled = await admin.post(f"/api/v1/ingest/jobs/{job['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert (await admin.post(f"/api/v1/ingest/jobs/{job['id']}/cancel")).status_code == 409
    finally:
        platform.start("ingest-worker")
    marker = await load(admin, "long-format", f"org_id,metric,subgroup,period,value,n\n{org_id},enrollment,all,2021-22,11,\n".encode())
    assert marker["status"] == "succeeded"  # the worker is back and took later work
    assert (await admin.get(f"/api/v1/ingest/jobs/{job['id']}")).json()["status"] == "cancelled"
    assert await observation(db, metric="enrollment", subgroup="all", year=2021, nces_id=nces) is None


def _demo_module(name: str):
    import importlib
    import sys

    sys.path.insert(0, str(REPO_ROOT / "infra"))
    try:
        return importlib.import_module(f"demo.{name}")
    finally:
        sys.path.remove(str(REPO_ROOT / "infra"))


async def test_the_demo_step_loads_real_data_once(platform, admin):
    """Last in this module: it loads the same files the tests above check from scratch."""
    import time as clock

    token = admin.headers["authorization"]
    with httpx.Client(base_url=platform.url(), headers={"authorization": token}, timeout=300) as api:
        await asyncio.to_thread(_demo_module("orgs").run, api)
        demo = _demo_module("ingest")
        await asyncio.to_thread(demo.run, api)
        jobs_after_first = (await admin.get("/api/v1/ingest/jobs", params={"limit": 200})).json()["items"]
        await asyncio.to_thread(demo.run, api)
        assert len((await admin.get("/api/v1/ingest/jobs", params={"limit": 200})).json()["items"]) == len(jobs_after_first)

    hazelwood = (await admin.get("/api/v1/orgs", params={"state_id": "096088", "type": "district"})).json()["items"][0]
    for metric in ("graduation_rate_4yr", "proportional_attendance"):
        found = (await admin.get("/api/v1/observations", params={"org": hazelwood["id"], "metric": metric, "subgroup": "all", "period": "2022-23"})).json()["items"]
        assert len(found) == 1 and found[0]["value"] is not None, metric
    school = (await admin.get("/api/v1/orgs", params={"state_id": "255901001", "type": "school"})).json()["items"][0]
    deadline = clock.monotonic() + 120  # a bound so a broken worker fails the test instead of hanging it
    while clock.monotonic() < deadline:
        found = (await admin.get("/api/v1/observations", params={"org": school["id"], "metric": "excused_absence_days", "period": "2021-22"})).json()["items"]
        if found and float(found[0]["value"]) == 389:
            break
        await asyncio.sleep(0.5)
    assert found and float(found[0]["value"]) == 389
