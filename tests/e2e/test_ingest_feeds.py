"""Pull feeds end to end: a state's file server (a local HTTP server the test runs) polled with conditional
requests; only a changed file becomes a load, and a successful load asks metrics-api to rescore."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

TERMINAL = {"succeeded", "failed", "cancelled"}


class StateFileServer:
    """Serves one file at /file.csv with ETag and/or Last-Modified, answering 304 when the client has it."""

    def __init__(self) -> None:
        self.content = b""
        self.modified = 0.0
        self.use_etag = True
        self.use_last_modified = True
        self.requests: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.requests.append({k.lower(): v for k, v in self.headers.items()})
                etag = f'"{hashlib.sha256(outer.content).hexdigest()[:16]}"'
                last_modified = formatdate(outer.modified, usegmt=True)
                fresh = (outer.use_etag and self.headers.get("if-none-match") == etag) or (
                    not outer.use_etag and outer.use_last_modified and self.headers.get("if-modified-since") == last_modified
                )
                if fresh:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "text/csv")
                self.send_header("content-length", str(len(outer.content)))
                if outer.use_etag:
                    self.send_header("etag", etag)
                if outer.use_last_modified:
                    self.send_header("last-modified", last_modified)
                self.end_headers()
                self.wfile.write(outer.content)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def publish(self, content: bytes, modified: float) -> None:
        self.content, self.modified = content, modified

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/file.csv"


@pytest.fixture
def state_server():
    server = StateFileServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(scope="module")
async def admin(platform):
    async with httpx.AsyncClient(base_url=platform.url(), timeout=120) as client:
        token = (await client.post("/auth/dev-token", json={"role": "platform_admin"})).json()["access_token"]
        client.headers["authorization"] = f"Bearer {token}"
        yield client


async def district(admin) -> dict:
    nces = f"99{uuid.uuid4().int % 10**5:05d}"
    created = await admin.post("/api/v1/orgs", json={"type": "district", "name": f"Feed {nces}", "state_code": "MO", "nces_id": nces, "state_id": f"F{nces}"})
    assert created.status_code == 201, created.text
    return created.json()


async def run_feed(admin, feed_id: str, previous_checked_at: str | None) -> dict:
    """Ask for a check now and wait until the worker has recorded it."""
    assert (await admin.post(f"/api/v1/ingest/feeds/{feed_id}/run")).status_code == 202
    for _ in range(1200):  # a bound so a broken worker fails the test instead of hanging it
        feed = (await admin.get(f"/api/v1/ingest/feeds/{feed_id}")).json()
        if feed["last_checked_at"] and feed["last_checked_at"] != previous_checked_at:
            return feed
        await asyncio.sleep(0.1)
    raise AssertionError("the feed was never checked")


async def wait_job(admin, job_id: str) -> dict:
    for _ in range(3000):
        job = (await admin.get(f"/api/v1/ingest/jobs/{job_id}")).json()
        if job["status"] in TERMINAL:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} never finished")


def file_of(org_id: str, rates: list[float]) -> bytes:
    rows = ["org_id,metric,subgroup,period,value,n"]
    rows += [f"{org_id},graduation_rate_4yr,all,{2000 + i}-{(i + 1) % 100:02d},{rate},100" for i, rate in enumerate(rates, start=18)]
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("validator", ["etag", "last-modified"])
async def test_a_feed_loads_only_what_changed(admin, db, state_server, validator):
    state_server.use_etag = validator == "etag"
    org = await district(admin)
    state_server.publish(file_of(org["id"], [81.0, 82.5, 84.0]), modified=1_700_000_000)
    created = await admin.post("/api/v1/ingest/feeds", json={"name": "State grads", "url": state_server.url, "profile": "long-format", "schedule": "0 6 * * *"})
    assert created.status_code == 201, created.text
    feed_id = created.json()["id"]

    feed = await run_feed(admin, feed_id, None)
    assert feed["last_status"] == "changed"
    first = await wait_job(admin, feed["last_job_id"])
    assert first["status"] == "succeeded" and first["kind"] == "feed" and first["observations_changed"] == 3
    # a successful load told metrics-api which district and years changed: it scored them
    for _ in range(600):
        scored = await db.fetch("select distinct school_year from scores where org_id = $1", uuid.UUID(org["id"]))
        if scored:
            break
        await asyncio.sleep(0.1)
    assert sorted(r["school_year"] for r in scored) == [2019, 2020, 2021]

    feed = await run_feed(admin, feed_id, feed["last_checked_at"])
    assert feed["last_status"] == "not_modified" and feed["last_job_id"] == first["id"]
    conditional = state_server.requests[-1]
    if validator == "etag":
        assert conditional["if-none-match"] == feed["etag"]
    else:
        assert conditional["if-modified-since"] == feed["last_modified"] and "if-none-match" not in conditional

    state_server.publish(file_of(org["id"], [81.0, 82.5, 85.5]), modified=1_700_086_400)  # the state corrects one year
    feed = await run_feed(admin, feed_id, feed["last_checked_at"])
    assert feed["last_status"] == "changed" and feed["last_job_id"] != first["id"]
    second = await wait_job(admin, feed["last_job_id"])
    assert second["status"] == "succeeded"
    assert (second["observations_changed"], second["observations_unchanged"]) == (1, 2)
    value = await db.fetchval(
        "select value from observations where org_id = $1 and metric_code = 'graduation_rate_4yr' and school_year = 2021", uuid.UUID(org["id"])
    )
    assert float(value) == 85.5
    jobs = await db.fetchval("select count(*) from ingest_jobs where feed_id = $1", uuid.UUID(feed_id))
    assert jobs == 2


async def test_a_server_without_validators_is_compared_by_content(admin, state_server):
    state_server.use_etag = state_server.use_last_modified = False
    org = await district(admin)
    state_server.publish(file_of(org["id"], [70.0]), modified=1_700_000_000)
    feed_id = (await admin.post("/api/v1/ingest/feeds", json={"name": "Plain", "url": state_server.url, "profile": "long-format"})).json()["id"]
    feed = await run_feed(admin, feed_id, None)
    assert feed["last_status"] == "changed"
    assert (await wait_job(admin, feed["last_job_id"]))["status"] == "succeeded"
    again = await run_feed(admin, feed_id, feed["last_checked_at"])
    assert again["last_status"] == "unchanged" and again["last_job_id"] == feed["last_job_id"]
