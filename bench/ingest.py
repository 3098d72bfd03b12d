"""Ingest benchmarks: a 1,000,000-row long-format file through the gateway, against plain COPY of the
same file; the ingest processes' peak memory; signed SIS webhook batches until every event is processed.

    make bench ARGS=ingest
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
from standardwebhooks.webhooks import Webhook

from bench.context import percentile

ROWS = 1_000_000
ORGS = 200
METRICS = ["graduation_rate_4yr", "graduation_rate_5yr", "proportional_attendance", "attendance_rate", "chronic_absenteeism_rate"]
SUBGROUPS = ["all", "american_indian", "asian", "black", "hispanic", "multiracial", "pacific_islander", "white", "econ_disadv", "swd", "ell"]
WEBHOOK_BATCHES = 200  # of 100 events each
WEBHOOK_CONCURRENCY = 16


async def run(ctx) -> dict:
    figures = await _file_load(ctx)
    figures |= await _webhooks(ctx)
    return figures


def _dsn(ctx) -> str:
    return ctx.database_url.replace("postgresql+asyncpg://", "postgresql://")


async def _districts(api: httpx.AsyncClient, count: int, prefix: str) -> list[str]:
    ids = []
    for i in range(count):
        body = {"type": "district", "name": f"Bench {prefix}{i}", "state_code": "ZZ", "state_id": f"{prefix}{i:05d}"}
        response = await api.post("/api/v1/orgs", json=body)
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


def _write_long_file(path: Path, org_ids: list[str], rows: int) -> None:
    with open(path, "w") as out:
        out.write("org_id,metric,subgroup,period,value,n\n")
        i = 0
        for year in range(1901, 2100):
            period = f"{year - 1}-{str(year)[-2:]}"
            for org in org_ids:
                for metric in METRICS:
                    for subgroup in SUBGROUPS:
                        if i == rows:
                            return
                        out.write(f"{org},{metric},{subgroup},{period},{(i % 1000) / 10:.1f},{i % 500 + 10}\n")
                        i += 1
    raise ValueError("not enough organizations for that many rows")


class PeakRss:
    """Samples the summed resident memory of some processes (and their children) every 50 ms."""

    def __init__(self, pids: list[int]) -> None:
        self.processes = [psutil.Process(p) for p in pids]
        self.peak = 0
        self._task: asyncio.Task | None = None

    def sample(self) -> None:
        total = 0
        for proc in self.processes:
            try:
                total += proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
            except psutil.Error:
                pass
        self.peak = max(self.peak, total)

    async def _loop(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()


async def _file_load(ctx) -> dict:
    api = ctx.admin_api
    orgs = await _districts(api, ORGS, "B")
    with tempfile.TemporaryDirectory(prefix="k12-bench-ingest-") as folder:
        path = Path(folder) / "long.csv"
        await asyncio.to_thread(_write_long_file, path, orgs, ROWS)
        size_mb = path.stat().st_size / 2**20

        pids = [ctx.processes["ingest"].pid, ctx.processes["ingest-worker"].pid]
        with PeakRss(pids) as rss:
            started = time.perf_counter()
            with open(path, "rb") as f:
                response = await api.post("/api/v1/ingest/uploads", data={"profile": "long-format"}, files={"file": ("long.csv", f, "text/csv")}, timeout=600)
            response.raise_for_status()
            job = response.json()
            while job["status"] not in ("succeeded", "failed", "cancelled"):
                await asyncio.sleep(0.05)
                job = (await api.get(f"/api/v1/ingest/jobs/{job['id']}")).json()
            elapsed = time.perf_counter() - started
        if job["status"] != "succeeded" or job["rows_loaded"] != ROWS:
            raise RuntimeError(f"the benchmark load did not succeed: {job}")

        conn = await asyncpg.connect(_dsn(ctx))
        try:
            stored = await conn.fetchval("select count(*) from observations where batch_id = $1", uuid.UUID(job["id"]))
            await conn.execute(
                "drop table if exists bench_plain_copy; create table bench_plain_copy "
                "(org_id uuid, metric text, subgroup text, period text, value numeric, n integer)"
            )
            copy_started = time.perf_counter()
            await conn.copy_to_table("bench_plain_copy", source=str(path), format="csv", header=True)
            copy_s = time.perf_counter() - copy_started
            await conn.execute("drop table bench_plain_copy")
        finally:
            await conn.close()
    return {
        "ingest_rows": ROWS,
        "ingest_file_mb": round(size_mb, 1),
        "ingest_seconds": round(elapsed, 2),
        "ingest_rows_per_s": round(ROWS / elapsed),
        "ingest_plain_copy_seconds": round(copy_s, 2),
        "ingest_vs_copy_ratio": round(copy_s / elapsed, 3),
        "ingest_peak_rss_mb": round(rss.peak / 2**20, 1),
        "ingest_observations_stored": stored,
    }


def _event(student: int, day: int, school: str, category: str) -> dict:
    return {
        "attendanceEventCategoryDescriptor": f"uri://ed-fi.org/AttendanceEventCategoryDescriptor#{category}",
        "eventDate": f"2022-{1 + day // 28:02d}-{1 + day % 28:02d}",
        "eventDuration": 1.0,
        "schoolReference": {"schoolId": int(school)},
        "sessionReference": {"schoolId": int(school), "schoolYear": 2022, "sessionName": "2021-2022 Spring Semester"},
        "studentReference": {"studentUniqueId": f"bench-{student}"},
    }


async def _webhooks(ctx) -> dict:
    api = ctx.admin_api
    lea = "960001"
    district = (await api.post("/api/v1/orgs", json={"type": "district", "name": "Bench ISD", "state_code": "ZZ", "state_id": lea, "edfi_id": lea})).raise_for_status().json()
    schools = []
    for s in range(4):
        school_id = f"{lea}{s:03d}"
        body = {"type": "school", "name": f"Bench School {s}", "state_code": "ZZ", "state_id": school_id, "edfi_id": school_id, "parent_id": district["id"]}
        (await api.post("/api/v1/orgs", json=body)).raise_for_status()
        schools.append(school_id)
    source = (await api.post("/api/v1/ingest/sis-sources", json={"name": "Bench", "vendor": "Ed-Fi", "district_id": district["id"]})).raise_for_status().json()
    signer = Webhook(source["secret"])

    # every event distinct: 200 batches x 100 = 20,000 events, a quarter excused per school
    batches, excused = [], 0
    for b in range(WEBHOOK_BATCHES):
        data = []
        for k in range(100):
            n = b * 100 + k
            category = "Excused Absence" if n % 4 == 0 else "Unexcused Absence"
            excused += category == "Excused Absence"
            data.append(_event(n // 50, n % 50, schools[n % len(schools)], category))
        batches.append(json.dumps({"resource": "studentSchoolAttendanceEvents", "action": "upsert", "data": data}))
    total = WEBHOOK_BATCHES * 100

    async with httpx.AsyncClient(base_url=ctx.url(), timeout=60) as client:
        semaphore = asyncio.Semaphore(WEBHOOK_CONCURRENCY)

        answer_ms: list[float] = []  # how long the SIS waits for each answer (the delivery is stored and queued)

        async def send(raw: str, webhook_id: str) -> int:
            async with semaphore:
                now = datetime.now(UTC)
                headers = {
                    "webhook-id": webhook_id,
                    "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": signer.sign(webhook_id, now, raw),
                    "content-type": "application/json",
                }
                sent = time.perf_counter()
                status = (await client.post(f"/webhooks/sis/{source['id']}", content=raw.encode(), headers=headers)).status_code
                answer_ms.append((time.perf_counter() - sent) * 1000)
                return status

        conn = await asyncpg.connect(_dsn(ctx))
        try:
            started = time.perf_counter()
            statuses = await asyncio.gather(*(send(raw, f"bench_{i}") for i, raw in enumerate(batches)))
            accepted_s = time.perf_counter() - started
            while await conn.fetchval(
                "select count(*) from sis_webhook_deliveries where source_id = $1 and status in ('processed', 'failed')", uuid.UUID(source["id"])
            ) < WEBHOOK_BATCHES:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            storm_answer_ms, answer_ms[:] = list(answer_ms), []
            repeats = [await send(raw, f"bench_{i}") for i, raw in enumerate(batches[:50])]  # one at a time, duplicates: no second effect
            single_answer_ms = list(answer_ms)
            await asyncio.sleep(1)
            failed = await conn.fetchval("select count(*) from sis_webhook_deliveries where source_id = $1 and status <> 'processed'", uuid.UUID(source["id"]))
            records = await conn.fetchval("select count(*) from sis_records where district_id = $1", uuid.UUID(district["id"]))
            derived = await conn.fetchval(
                "select value from observations where org_id = $1 and metric_code = 'excused_absence_days' and subgroup_code = 'all' and school_year = 2022",
                uuid.UUID(district["id"]),
            )
        finally:
            await conn.close()
    exactly_once = all(s == 202 for s in statuses) and all(s == 200 for s in repeats) and failed == 0 and records == total and float(derived or 0) == excused
    return {
        "webhook_events": total,
        "webhook_accept_seconds": round(accepted_s, 2),
        "webhook_seconds": round(elapsed, 2),
        "webhook_events_per_s": round(total / elapsed),
        "webhook_exactly_once": exactly_once,
        "webhook_answer_p50_ms_under_storm": round(percentile(storm_answer_ms, 50), 1),
        "webhook_answer_p99_ms_under_storm": round(percentile(storm_answer_ms, 99), 1),
        "webhook_answer_p50_ms_one_at_a_time": round(percentile(single_answer_ms, 50), 1),
        "webhook_answer_p99_ms_one_at_a_time": round(percentile(single_answer_ms, 99), 1),
    }

