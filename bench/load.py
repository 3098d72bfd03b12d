"""Mixed load through the gateway for 60 s (`make bench ARGS=load`).

A district's day at once: leaders opening the dashboard, partners querying observations, meetings
writing action items, and the district's SIS pushing signed webhook deliveries. Reports requests
per second, p50/p99 latency per kind and overall, and errors (goal: zero). Afterwards every action
item acknowledged with a 201 is looked up again: none may be missing.

Knobs (environment): K12_LOAD_SECONDS (60), K12_LOAD_CONCURRENCY (16).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import httpx
import orjson
from standardwebhooks.webhooks import Webhook

from bench.context import percentile, user_client

SECONDS = float(os.environ.get("K12_LOAD_SECONDS", "60"))
CONCURRENCY = int(os.environ.get("K12_LOAD_CONCURRENCY", "16"))
MIX = {"dashboard": 30, "observations": 35, "action_write": 20, "webhook": 15}
METRICS = ["graduation_rate_4yr", "attendance_rate", "chronic_absenteeism_rate", "enrollment"]
SUBGROUPS = ["all", "black", "hispanic", "white", "econ_disadv", "swd", "ell"]


async def _ok(response: httpx.Response, *statuses: int) -> dict:
    if response.status_code not in (statuses or (200, 201)):
        raise RuntimeError(f"setup: {response.request.method} {response.request.url.path}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


async def _org(api: httpx.AsyncClient, body: dict) -> str:
    found = (await api.get("/api/v1/orgs", params={"state_id": body["state_id"], "type": body["type"]})).json()["items"]
    return found[0]["id"] if found else (await _ok(await api.post("/api/v1/orgs", json=body), 201))["id"]


async def _setup(ctx) -> dict:
    """A district with a school, a year of observations, a plan, a routine with meetings, and a SIS source."""
    admin = ctx.admin_api
    state = await _org(admin, {"type": "state", "name": "Load", "state_code": "LD", "state_id": "LD"})
    district = await _org(admin, {"type": "district", "name": "Load district", "state_code": "LD", "state_id": "LOAD-1", "parent_id": state})
    schools = [await _org(admin, {"type": "school", "name": f"Load school {n}", "state_code": "LD", "state_id": f"LOAD-1-{n}", "parent_id": district}) for n in range(5)]
    rows = ["org_id,metric,subgroup,period,value,n"]
    for org in [district, *schools]:
        for metric in METRICS:
            for subgroup in SUBGROUPS:
                for year in range(2016, 2025):
                    rows.append(f"{org},{metric},{subgroup},{year - 1}-{str(year)[-2:]},{random.uniform(40, 99):.1f},{random.randint(20, 900)}")
    job = await _ok(await admin.post("/api/v1/ingest/uploads", data={"profile": "long-format"}, files={"file": ("load.csv", ("\n".join(rows) + "\n").encode(), "text/csv")}), 202)
    for _ in range(1200):
        job = (await admin.get(f"/api/v1/ingest/jobs/{job['id']}")).json()
        if job["status"] in {"succeeded", "failed", "cancelled"}:
            break
        await asyncio.sleep(0.25)
    token = (await _ok(await admin.post("/auth/dev-token", json={"role": "district_admin", "district": "LOAD-1"})))["access_token"]
    headers = {"authorization": f"Bearer {token}"}
    plan = await _ok(await admin.post("/api/v1/plans", json={"district_id": district, "school_year": "2026-27", "title": "Load plan"}, headers=headers), 201)
    goal = await _ok(await admin.post("/api/v1/goals", json={
        "plan_id": plan["id"], "title": "Graduation to 90%", "metric": "graduation_rate_4yr", "baseline_period": "2023-24",
        "baseline_value": 80, "target_period": "2027-28", "target_value": 90,
    }, headers=headers), 201)
    routine = await _ok(await admin.post("/api/v1/routines", json={
        "title": "Load stocktake", "kind": "stocktake", "goal_ids": [goal["id"]], "rrule": "FREQ=MONTHLY;COUNT=6",
        "starts_at": f"{date.today() + timedelta(days=7)}T09:00:00", "timezone": "America/Chicago",
    }, headers=headers), 201)
    meetings = (await admin.get(f"/api/v1/routines/{routine['id']}/meetings", headers=headers)).json()["items"]
    source = await _ok(await admin.post("/api/v1/ingest/sis-sources", json={"name": "Load SIS", "vendor": "PowerSchool", "district_id": district}, headers=headers), 201)
    return {
        "district": district, "orgs": [district, *schools], "headers": headers, "meeting_ids": [m["id"] for m in meetings],
        "source_id": source["id"], "signer": Webhook(source["secret"]), "school_state_ids": [f"LOAD-1-{n}" for n in range(5)],
        "observations_loaded": job.get("rows_loaded", 0),
    }


def _request(kind: str, world: dict, n: int) -> tuple[str, str, dict]:
    """(method, path, httpx kwargs) for one request of ``kind``."""
    if kind == "dashboard":
        return "GET", "/app/v1/dashboard", {"headers": world["headers"]}
    if kind == "observations":
        params = {"org": random.sample(world["orgs"], 2), "metric": random.choice(METRICS), "subgroup": random.choice(SUBGROUPS), "limit": 100}
        return "GET", "/api/v1/observations", {"headers": world["headers"], "params": params}
    if kind == "action_write":
        body = {"title": f"Load action {n}", "owner": "load:owner", "due_date": str(date.today() + timedelta(days=random.randint(-3, 30))), "meeting_id": random.choice(world["meeting_ids"])}
        return "POST", "/api/v1/actions", {"headers": world["headers"], "json": body}
    record = {
        "studentReference": {"studentUniqueId": f"S{random.randint(1, 5000):05d}"},
        "schoolReference": {"schoolId": random.choice(world["school_state_ids"])},
        "eventDate": str(date.today() - timedelta(days=random.randint(1, 100))),
        "attendanceEventCategoryDescriptor": "uri://ed-fi.org/AttendanceEventCategoryDescriptor#Excused Absence",
    }
    body = json.dumps({"resource": "studentSchoolAttendanceEvents", "action": "upsert", "data": [record]})
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(tz=UTC)
    signature = world["signer"].sign(msg_id, now, body)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature, "content-type": "application/json"}
    return "POST", f"/webhooks/sis/{world['source_id']}", {"headers": headers, "content": body.encode()}


async def run(ctx) -> dict:
    world = await _setup(ctx)
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    error_samples: list[str] = []
    written: list[str] = []
    partial_parts: set[str] = set()  # dashboard parts reported missing (a part this build does not serve yet)
    kinds, weights = list(MIX), list(MIX.values())
    counter = iter(range(10**9))
    deadline = time.monotonic() + SECONDS

    async def user() -> None:
        async with user_client(ctx.url()) as client:
            while time.monotonic() < deadline:
                kind = random.choices(kinds, weights)[0]
                method, path, kwargs = _request(kind, world, next(counter))
                started = time.perf_counter()
                try:
                    response = await client.request(method, path, **kwargs)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status, response = 0, None
                    error_samples.append(f"{kind}: {type(exc).__name__}")
                latencies[kind].append((time.perf_counter() - started) * 1000)
                if kind == "dashboard" and status == 200 and (missing := orjson.loads(response.content)["missing"]):
                    partial_parts.update(p["part"] for p in missing)
                if not 200 <= status < 300:
                    errors[kind] += 1
                    if response is not None and len(error_samples) < 10:
                        error_samples.append(f"{kind}: {status} {response.text[:200]}")
                elif kind == "action_write":
                    written.append(response.json()["id"])

    started = time.monotonic()
    await asyncio.gather(*(user() for _ in range(CONCURRENCY)))
    elapsed = time.monotonic() - started
    async with httpx.AsyncClient(base_url=ctx.url(), timeout=30) as client:
        found = await _all_actions(client, world)
    total = sum(len(v) for v in latencies.values())
    every = [x for v in latencies.values() for x in v]
    return {
        "load_seconds": round(elapsed, 1),
        "load_concurrency": CONCURRENCY,
        "load_requests": total,
        "load_requests_per_s": round(total / elapsed, 1),
        "load_p50_ms": round(percentile(every, 50), 1),
        "load_p99_ms": round(percentile(every, 99), 1),
        "load_errors": sum(errors.values()),
        "load_by_kind": {
            kind: {"requests": len(latencies[kind]), "p50_ms": round(percentile(latencies[kind], 50), 1), "p99_ms": round(percentile(latencies[kind], 99), 1), "errors": errors[kind]}
            for kind in kinds
        },
        "load_actions_acknowledged": len(written),
        "load_actions_missing_afterwards": len(set(written) - found),
        "load_observations_in_dataset": world["observations_loaded"],
        "load_dashboard_parts_missing": sorted(partial_parts),
        "load_error_samples": error_samples[:10],
    }


async def _all_actions(client: httpx.AsyncClient, world: dict) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 500, "district": world["district"]} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/actions", params=params, headers=world["headers"])).json()
        found |= {a["id"] for a in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return found
