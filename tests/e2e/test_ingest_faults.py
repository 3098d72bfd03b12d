"""Ingest under faults (real processes): a worker killed with SIGKILL mid-load, PostgreSQL restarted
mid-load, and a storm of duplicate and out-of-order SIS deliveries. Every check is row by row."""

from __future__ import annotations

import asyncio
from collections import Counter
import importlib.util
import json
import random
import shutil
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from k12shared.settings import REPO_ROOT
from k12shared.testing.platform import SERVICES, Platform, free_port, platform_env

TERMINAL = {"succeeded", "failed", "cancelled"}
METRICS = ["graduation_rate_4yr", "graduation_rate_5yr", "proportional_attendance", "attendance_rate", "chronic_absenteeism_rate"]
SUBGROUPS = ["all", "american_indian", "asian", "black", "hispanic", "multiracial", "pacific_islander", "white", "econ_disadv", "swd", "ell"]


def long_file(org_ids: list[str], rows: int) -> tuple[bytes, dict[tuple, tuple[float, float]]]:
    """A long-format file of ``rows`` distinct observations, and what each must load as."""
    out = ["org_id,metric,subgroup,period,value,n"]
    expected: dict[tuple, tuple[float, float]] = {}
    i = 0
    for year in range(1950, 2099):
        for org in org_ids:
            for metric in METRICS:
                for subgroup in SUBGROUPS:
                    if i == rows:
                        return ("\n".join(out) + "\n").encode(), expected
                    value, n = round((i % 1000) / 10, 1), i % 500 + 10
                    out.append(f"{org},{metric},{subgroup},{year - 1}-{str(year)[-2:]},{value:.1f},{n}")
                    expected[(uuid.UUID(org), metric, subgroup, year)] = (value, float(n))
                    i += 1
    raise ValueError("too many rows for these organizations")


async def loaded(db, org_ids: list[str]) -> dict[tuple, tuple[float, float]]:
    rows = await db.fetch(
        "select org_id, metric_code, subgroup_code, school_year, value, denominator from observations where org_id = any($1::uuid[])",
        [uuid.UUID(o) for o in org_ids],
    )
    return {(r["org_id"], r["metric_code"], r["subgroup_code"], r["school_year"]): (float(r["value"]), float(r["denominator"])) for r in rows}


async def assert_exact(db, org_ids: list[str], expected: dict, job_id: str) -> None:
    got = await loaded(db, org_ids)
    missing = expected.keys() - got.keys()
    extra = got.keys() - expected.keys()
    wrong = [k for k in expected.keys() & got.keys() if got[k] != expected[k]]
    assert (len(missing), len(extra), len(wrong)) == (0, 0, 0), (list(missing)[:3], list(extra)[:3], wrong[:3])
    # each observation written once, by this job: nothing doubled into history
    assert await db.fetchval("select count(*) from observation_history where org_id = any($1::uuid[])", [uuid.UUID(o) for o in org_ids]) == 0
    batches = await db.fetch("select distinct batch_id from observations where org_id = any($1::uuid[])", [uuid.UUID(o) for o in org_ids])
    assert [b["batch_id"] for b in batches] == [uuid.UUID(job_id)]


async def admin_client(base_url: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base_url, timeout=120)
    token = (await client.post("/auth/dev-token", json={"role": "platform_admin"})).json()["access_token"]
    client.headers["authorization"] = f"Bearer {token}"
    return client


async def new_districts(admin, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        nces = f"99{uuid.uuid4().int % 10**5:05d}"
        created = await admin.post("/api/v1/orgs", json={"type": "district", "name": f"Fault {nces}", "state_code": "MO", "nces_id": nces, "state_id": f"X{nces}"})
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


async def upload(admin, content: bytes) -> dict:
    response = await admin.post("/api/v1/ingest/uploads", data={"profile": "long-format"}, files={"file": ("big.csv", content, "text/csv")})
    assert response.status_code == 202, response.text
    return response.json()


async def job_state(admin, job_id: str) -> dict | None:
    try:
        response = await admin.get(f"/api/v1/ingest/jobs/{job_id}")
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


async def wait_until(admin, job_id: str, done, *, supervise: Platform | None = None) -> dict:
    """Poll the job until ``done(job)``; with ``supervise``, restart any process that exited (as a supervisor would)."""
    for _ in range(6000):  # a bound so a broken worker fails the test instead of hanging it
        if supervise is not None:
            for name, proc in list(supervise.processes.items()):
                if proc.poll() is not None:
                    supervise.processes.pop(name)
                    supervise.start(name)
        job = await job_state(admin, job_id)
        if job is not None and done(job):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never got there")


def finished(job: dict) -> bool:
    return job["status"] in TERMINAL


def parsing(job: dict) -> bool:
    return job["status"] in TERMINAL or (job["status"] == "running" and job["rows_read"] > 0)


@pytest.fixture(scope="module")
async def admin(platform):
    client = await admin_client(platform.url())
    yield client
    await client.aclose()


async def test_a_worker_killed_mid_load_leaves_the_job_to_the_next_worker(platform, admin, db):
    orgs = await new_districts(admin, 60)
    content, expected = long_file(orgs, 400_000)
    platform.stop("ingest-worker")
    job = await upload(admin, content)
    platform.start("ingest-worker")
    running = await wait_until(admin, job["id"], parsing)
    platform.stop("ingest-worker", kill=True)  # SIGKILL: no cleanup, no goodbye to the queue
    assert running["status"] == "running", "the load finished before the worker could be killed"
    platform.start("ingest-worker")
    done = await wait_until(admin, job["id"], finished)
    assert done["status"] == "succeeded", done
    assert done["attempts"] >= 2
    assert (done["rows_read"], done["rows_loaded"], done["observations_changed"]) == (400_000, 400_000, 400_000)
    await assert_exact(db, orgs, expected, job["id"])


def _devdb():
    spec = importlib.util.spec_from_file_location("k12_devdb", REPO_ROOT / "infra" / "devdb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def own_platform(settings, tmp_path):
    """A platform on a PostgreSQL of its own, which the test may restart without disturbing other tests."""
    from k12shared.migrate import upgrade

    devdb = _devdb()
    data = Path(tempfile.mkdtemp(prefix="k12f", dir="/tmp"))  # short: the server's socket path is limited
    port = free_port()
    await asyncio.to_thread(devdb.start, data, port, ["k12faults"])
    database_url = devdb.url(port, "k12faults")
    await asyncio.to_thread(upgrade, database_url)
    ports = {name: free_port() for name in SERVICES}
    env = platform_env(database_url, ports, K12_LOG_LEVEL="INFO", K12_DB_POOL_SIZE="3",
                       K12_RATE_LIMIT_PER_MINUTE="1000000", K12_WEBHOOK_RATE_LIMIT_PER_MINUTE="1000000")
    running = Platform(database_url=database_url, env=env, ports=ports, log_dir=tmp_path)
    for name in ["gateway", "metrics", "ingest", "ingest-worker"]:
        running.start(name)
    try:
        for name in ["gateway", "metrics", "ingest"]:
            await asyncio.to_thread(running.wait_healthy, name, 90)
        yield running, lambda: (devdb.stop(data), devdb.start(data, port, []))
    finally:
        for name in list(running.processes):
            running.stop(name)
        await asyncio.to_thread(devdb.stop, data)
        shutil.rmtree(data, ignore_errors=True)


async def test_postgres_restarted_mid_load_the_job_retries_and_the_data_is_exact(own_platform):
    running, restart_postgres = own_platform
    admin = await admin_client(running.url())
    try:
        orgs = await new_districts(admin, 40)
        content, expected = long_file(orgs, 300_000)
        job = await upload(admin, content)
        state = await wait_until(admin, job["id"], parsing)
        assert state["status"] == "running", "the load finished before PostgreSQL could be restarted"
        await asyncio.to_thread(restart_postgres)
        done = await wait_until(admin, job["id"], finished, supervise=running)
        assert done["status"] == "succeeded", (done, running.logs()[-3000:])
        assert (done["rows_read"], done["rows_loaded"]) == (300_000, 300_000)
        db = await asyncpg.connect(running.database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await assert_exact(db, orgs, expected, job["id"])
        finally:
            await db.close()
    finally:
        await admin.aclose()


def _event(student: int, day: int, category: str, school: str, duration: float, modified: datetime) -> dict:
    return {
        "attendanceEventCategoryDescriptor": f"uri://ed-fi.org/AttendanceEventCategoryDescriptor#{category}",
        "eventDate": f"2022-02-{day:02d}",
        "eventDuration": duration,
        "schoolReference": {"schoolId": int(school)},
        "sessionReference": {"schoolId": int(school), "schoolYear": 2022, "sessionName": "2021-2022 Spring Semester"},
        "studentReference": {"studentUniqueId": f"storm-{student}"},
        "_lastModifiedDate": modified.isoformat().replace("+00:00", "Z"),
    }


async def test_a_webhook_storm_keeps_the_latest_version_of_each_record_once(platform, admin, db):
    texas = (await admin.get("/api/v1/orgs", params={"state_id": "TX", "type": "state"})).json()["items"]
    lea = f"97{uuid.uuid4().int % 10**4:04d}"
    body = {"type": "district", "name": "Storm ISD", "state_code": "TX", "state_id": lea, "edfi_id": lea, **({"parent_id": texas[0]["id"]} if texas else {})}
    district = (await admin.post("/api/v1/orgs", json=body)).json()
    school = f"{lea}001"
    created = await admin.post("/api/v1/orgs", json={"type": "school", "name": "Storm High", "state_code": "TX", "state_id": school, "edfi_id": school, "parent_id": district["id"]})
    assert created.status_code == 201, created.text
    source = (await admin.post("/api/v1/ingest/sis-sources", json={"name": "Storm", "vendor": "Ed-Fi", "district_id": district["id"]})).json()

    # 40 students x 10 days: each event in three versions (a correction of its category's duration), and
    # a fifth of the events finally deleted. Every version goes out in its own delivery, in random order.
    base = datetime(2022, 3, 1, tzinfo=UTC)
    rng = random.Random(7)
    batches: list[dict] = []
    final: dict[tuple[int, int], float | None] = {}
    for student in range(40):
        for day in range(1, 11):
            category = "Excused Absence" if (student + day) % 3 else "Unexcused Absence"
            versions = [0.25, 0.5, 1.0]
            for v, duration in enumerate(versions):
                record = _event(student, day, category, school, duration, base + timedelta(minutes=v))
                batches.append({"resource": "studentSchoolAttendanceEvents", "action": "upsert", "data": [record]})
            if (student * 10 + day) % 5 == 0:
                tomb = _event(student, day, category, school, 0, base + timedelta(minutes=5))
                batches.append({"resource": "studentSchoolAttendanceEvents", "action": "delete", "data": [tomb]})
                final[(student, day, category)] = None
            else:
                final[(student, day, category)] = versions[-1]
    # group into deliveries of up to 100 records of one action, shuffled; each delivery sent twice
    rng.shuffle(batches)
    deliveries = []
    for action in ("upsert", "delete"):
        records = [b["data"][0] for b in batches if b["action"] == action]
        for start in range(0, len(records), 100):
            deliveries.append({"resource": "studentSchoolAttendanceEvents", "action": action, "data": records[start : start + 100]})
    rng.shuffle(deliveries)
    signer = Webhook(source["secret"])

    async def send(payload: dict, webhook_id: str) -> int:
        raw = json.dumps(payload)
        now = datetime.now(UTC)
        headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signer.sign(webhook_id, now, raw), "content-type": "application/json"}
        response = await admin.post(f"/webhooks/sis/{source['id']}", content=raw.encode(), headers=headers)
        return response.status_code

    ids = [f"storm_{i}" for i in range(len(deliveries))]
    sends = [send(d, i) for d, i in zip(deliveries, ids)] * 2
    rng.shuffle(sends)
    statuses = await asyncio.gather(*sends)
    assert all(200 <= s < 300 for s in statuses), statuses

    for _ in range(1200):
        states = await db.fetch("select status from sis_webhook_deliveries where source_id = $1", uuid.UUID(source["id"]))
        if len(states) == len(deliveries) and all(s["status"] in ("processed", "failed") for s in states):
            break
        await asyncio.sleep(0.25)
    assert [s["status"] for s in states] == ["processed"] * len(deliveries)  # each webhook-id stored once

    rows = await db.fetch("select data from sis_records where district_id = $1", uuid.UUID(district["id"]))
    assert len(rows) == len(final)  # one record per natural key, never doubled
    stored = [json.loads(r["data"]) if isinstance(r["data"], str) else r["data"] for r in rows]
    kept = Counter("deleted" if d.get("deleted") else d["duration"] for d in stored)
    assert kept == Counter("deleted" if d is None else d for d in final.values()), "an older version won"
    expected_excused = sum(d for (s, day, c), d in final.items() if d is not None and c == "Excused Absence")
    expected_unexcused = sum(d for (s, day, c), d in final.items() if d is not None and c == "Unexcused Absence")
    for metric, value in (("excused_absence_days", expected_excused), ("unexcused_absence_days", expected_unexcused)):
        row = await db.fetchrow(
            "select * from observations where org_id = $1 and metric_code = $2 and subgroup_code = 'all' and school_year = 2022",
            uuid.UUID(created.json()["id"]), metric,
        )
        assert (row["status"], float(row["value"])) == ("exact", value), metric
