"""Demo data through the ingest API: the Missouri DESE district files, the EDFacts school graduation
files (2015-16 and 2016-17) and the Grand Bend ISD Ed-Fi attendance events as signed SIS webhooks.

Idempotent: a file already loaded (same content, same profile) is not uploaded again, and the Grand
Bend events are sent once, by a SIS source of that name (re-sending would change nothing anyway).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

DATA = Path(__file__).resolve().parents[2] / "demo" / "data"
FILES = [
    ("mo-dese-district-graduation", DATA / "missouri-dese" / "adjusted-cohort-graduation-rate-data.csv"),
    ("mo-dese-district-attendance", DATA / "missouri-dese" / "proportional-attendance-rates-data.csv"),
    ("mo-dese-district-demographics", DATA / "missouri-dese" / "demographic-data.csv"),
    ("mo-dese-district-discipline", DATA / "missouri-dese" / "discipline-incidents-data.csv"),
    ("mo-dese-district-staff-ratio", DATA / "missouri-dese" / "student-staff-ratio-data.csv"),
    ("edfacts-acgr-school", DATA / "edfacts" / "acgr-sch-sy2015-16.csv"),
    ("edfacts-acgr-school", DATA / "edfacts" / "acgr-sch-sy2016-17.csv"),
]
SIS_SOURCE_NAME = "Grand Bend demo SIS"
EVENTS_PER_DELIVERY = 250
TERMINAL = ("succeeded", "failed", "cancelled")


def _loaded_files(api: httpx.Client) -> set[tuple[str, str]]:
    """(profile, sha256) of every file already loaded."""
    done, cursor = set(), None
    while True:
        params = {"status": "succeeded", "limit": 200} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/v1/ingest/jobs", params=params).raise_for_status().json()
        done |= {(j["profile_code"], j["file_sha256"]) for j in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return done


def _wait(api: httpx.Client, job_id: str, timeout_s: float = 600) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = api.get(f"/api/v1/ingest/jobs/{job_id}").raise_for_status().json()
        if job["status"] in TERMINAL or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


def load_files(api: httpx.Client) -> None:
    done = _loaded_files(api)
    for profile, path in FILES:
        content = path.read_bytes()
        if (profile, hashlib.sha256(content).hexdigest()) in done:
            continue
        response = api.post("/api/v1/ingest/uploads", data={"profile": profile}, files={"file": (path.name, content, "text/csv")})
        job = _wait(api, response.raise_for_status().json()["id"])
        print(f"demo: {path.name} ({profile}): {job['status']}, {job['observations_changed']} observations"
              + (f" — {job['message']}" if job["message"] else ""), flush=True)


def _deliver(api: httpx.Client, source: dict, webhook_id: str, resource: str, data: list[dict]) -> None:
    body = json.dumps({"resource": resource, "action": "upsert", "data": data})
    now = datetime.now(UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(source["secret"]).sign(webhook_id, now, body),
        "content-type": "application/json",
    }
    api.post(f"/webhooks/sis/{source['id']}", content=body.encode(), headers=headers).raise_for_status()


def send_grand_bend(api: httpx.Client) -> None:
    found = api.get("/api/v1/orgs", params={"state_id": "255901", "type": "district"}).raise_for_status().json()["items"]
    if not found:
        return
    district = found[0]
    sources = api.get("/api/v1/ingest/sis-sources", params={"limit": 200}).raise_for_status().json()["items"]
    if any(s["name"] == SIS_SOURCE_NAME and s["district_id"] == district["id"] for s in sources):
        return
    body = {"name": SIS_SOURCE_NAME, "vendor": "Ed-Fi ODS / API", "district_id": district["id"]}
    source = api.post("/api/v1/ingest/sis-sources", json=body).raise_for_status().json()
    schools = json.loads((DATA / "ed-fi-grand-bend" / "schools.json").read_text())["schools"]
    _deliver(api, source, "demo-schools", "schools", schools)
    lines = (DATA / "ed-fi-grand-bend" / "studentSchoolAttendanceEvents.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    for n, start in enumerate(range(0, len(events), EVENTS_PER_DELIVERY)):
        _deliver(api, source, f"demo-attendance-{n}", "studentSchoolAttendanceEvents", events[start : start + EVENTS_PER_DELIVERY])
    print(f"demo: Grand Bend ISD: {len(events)} attendance events sent as signed SIS webhooks", flush=True)


def run(api: httpx.Client) -> None:
    load_files(api)
    send_grand_bend(api)
