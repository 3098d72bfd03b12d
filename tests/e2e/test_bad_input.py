"""Bad input everywhere: each gets a clear 4xx problem+json and leaves the data as it was.

Oversized bodies and uploads, deeply nested JSON, non-UTF-8 bytes, huge or silly page sizes,
malformed CSV files. Roster archives (zip bombs, lying headers, path tricks) are refused in
test_ingest_rosters.py and services/ingest/tests/test_roster_archive.py.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest


PROBLEM = "application/problem+json"
TERMINAL = {"succeeded", "failed", "cancelled"}
SMALL_UPLOAD_LIMIT = 1024 * 1024
# One write per service behind the gateway (and the gateway's own), each a valid body apart from the attack.
WRITES = {
    "gateway": ("/api/v1/api-clients", {"name": "x", "scopes": ["metrics:read"]}),
    "routines": ("/api/v1/plans", {"school_year": "2026-27", "title": "x"}),
    "metrics": ("/api/v1/orgs", {"type": "state", "name": "x", "state_code": "ZZ", "state_id": "ZZ-bad"}),
    "ingest": ("/api/v1/ingest/sis-sources", {"name": "x", "vendor": "x", "district_id": None}),
}
LISTS = {"gateway": "/api/v1/api-clients", "routines": "/api/v1/plans", "metrics": "/api/v1/orgs?state_id=ZZ-bad", "ingest": "/api/v1/ingest/sis-sources"}


def assert_problem(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith(PROBLEM), response.headers["content-type"]
    assert response.json()["status"] == response.status_code


@pytest.fixture(scope="module")
async def who(api):
    admin = {"authorization": f"Bearer {(await api.post('/auth/dev-token', json={'role': 'platform_admin'})).json()['access_token']}"}
    found = (await api.get("/api/v1/orgs", params={"state_id": "BAD-1", "type": "district"}, headers=admin)).json()["items"]
    if not found:
        states = (await api.get("/api/v1/orgs", params={"state_id": "BI", "type": "state"}, headers=admin)).json()["items"]
        if not states:
            created = await api.post("/api/v1/orgs", json={"type": "state", "name": "Bad input", "state_code": "BI", "state_id": "BI"}, headers=admin)
            assert created.status_code == 201, created.text
            states = [created.json()]
        district = await api.post("/api/v1/orgs", json={"type": "district", "name": "Bad input district", "state_code": "BI", "state_id": "BAD-1", "parent_id": states[0]["id"]}, headers=admin)
        assert district.status_code == 201, district.text
        found = [district.json()]
    token = (await api.post("/auth/dev-token", json={"role": "district_admin", "district": "BAD-1"})).json()["access_token"]
    return {"platform_admin": admin, "district_admin": {"authorization": f"Bearer {token}"}, "district_id": found[0]["id"]}


def _headers_for(service: str, who: dict) -> dict:
    return who["platform_admin"] if service in {"metrics", "ingest"} else who["district_admin"]


def _body_for(service: str, who: dict) -> dict:
    path, body = WRITES[service]
    return {**body, "district_id": who["district_id"]} if "district_id" in body else body


async def _state(api, who) -> dict[str, str]:
    """What each service holds for the test's callers, to compare before and after an attack."""
    return {service: (await api.get(path, params={"limit": 500}, headers=_headers_for(service, who))).text for service, path in LISTS.items()}


@pytest.mark.parametrize("service", list(WRITES))
async def test_an_oversized_body_is_413_whether_declared_or_streamed(api, who, service):
    before = await _state(api, who)
    path, _ = WRITES[service]
    headers = {**_headers_for(service, who), "content-type": "application/json"}
    huge = b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    assert_problem(await api.post(path, content=huge, headers=headers), 413)

    async def chunks():  # no Content-Length: the limit must hold on what actually arrives
        for _ in range(48):
            yield b"x" * (64 * 1024)

    assert_problem(await api.post(path, content=chunks(), headers=headers), 413)
    assert await _state(api, who) == before


@pytest.mark.parametrize("service", list(WRITES))
async def test_deeply_nested_json_is_refused(api, who, service):
    before = await _state(api, who)
    path, _ = WRITES[service]
    depth = 100_000
    nested = b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
    response = await api.post(path, content=nested, headers={**_headers_for(service, who), "content-type": "application/json"})
    assert_problem(response, 400, 413, 422)
    assert await _state(api, who) == before


@pytest.mark.parametrize("service", list(WRITES))
async def test_non_utf8_bytes_are_refused(api, who, service):
    before = await _state(api, who)
    path, _ = WRITES[service]
    body = httpx.Request("POST", "http://x", json=_body_for(service, who)).content
    broken = body.replace(b'"x"', b'"\xff\xfe\xc3"', 1)
    assert broken != body
    response = await api.post(path, content=broken, headers={**_headers_for(service, who), "content-type": "application/json"})
    assert_problem(response, 400, 422)
    in_query = await api.get(LISTS[service].split("?")[0] + "?cursor=%ff%fe", headers=_headers_for(service, who))
    assert_problem(in_query, 400, 422)
    assert await _state(api, who) == before


async def test_huge_silly_page_sizes_are_refused_on_every_list(api, who):
    doc = (await api.get("/openapi.json")).json()
    lists = [
        path
        for path, item in doc["paths"].items()
        if "{" not in path and "get" in item and any(p.get("name") == "limit" and p.get("in") == "query" for p in item["get"].get("parameters", []))
    ]
    assert len(lists) > 10
    for path in lists:
        for limit in (10**9, 501, 0, -1, "all"):
            response = await api.get(path, params={"limit": limit}, headers=who["platform_admin"])
            assert_problem(response, 400, 422)


@pytest.fixture(scope="module")
def small_upload_gateway(platform, tmp_path_factory):
    """A gateway like the platform's, but with a 1 MiB upload limit, so an oversized upload is quick to send."""
    with platform.extra_gateway(tmp_path_factory.mktemp("small-upload-gateway"), K12_MAX_UPLOAD_BYTES=str(SMALL_UPLOAD_LIMIT)) as url:
        yield url


async def test_an_oversized_upload_is_413_and_queues_nothing(small_upload_gateway, api, who):
    jobs_before = (await api.get("/api/v1/ingest/jobs", params={"limit": 500}, headers=who["platform_admin"])).json()["items"]
    async with httpx.AsyncClient(base_url=small_upload_gateway, timeout=60) as small:
        content = b"org_id,metric,subgroup,period,value,n\n" + b"x" * (2 * SMALL_UPLOAD_LIMIT)
        response = await small.post("/api/v1/ingest/uploads", data={"profile": "long-format"}, files={"file": ("big.csv", content, "text/csv")}, headers=who["platform_admin"])
    assert_problem(response, 413)
    jobs_after = (await api.get("/api/v1/ingest/jobs", params={"limit": 500}, headers=who["platform_admin"])).json()["items"]
    assert [j["id"] for j in jobs_after] == [j["id"] for j in jobs_before]


MALFORMED = {
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
    "not utf-8": "org_id,metric,subgroup,period,value,n\n{org},enrollment,all,2020-21,10,12\n".encode() + b"{org},enrollment,\xff\xfe,2020-21,10,12\n",
    "unclosed quote": b'org_id,metric,subgroup,period,value,n\n"{org},enrollment,all,2020-21,10,12\n{org},enrollment,all,2021-22,11,12\n',
    "ragged rows": b"org_id,metric,subgroup,period,value,n\n{org},enrollment\n{org},enrollment,all,2020-21,10,12,extra,extra\n",
    "no header": b"",
}


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_a_malformed_csv_is_refused_clearly_and_loads_nothing(api, who, kind):
    admin = who["platform_admin"]
    school = await api.post(
        "/api/v1/orgs", json={"type": "school", "name": f"Malformed {kind}", "state_code": "BI", "state_id": f"BAD-{uuid.uuid4().hex[:8]}", "parent_id": who["district_id"]}, headers=admin
    )
    org = school.json()["id"]
    content = MALFORMED[kind].replace(b"{org}", org.encode())
    response = await api.post("/api/v1/ingest/uploads", data={"profile": "long-format"}, files={"file": ("bad.csv", content, "text/csv")}, headers=admin)
    if response.status_code != 202:
        assert_problem(response, 400, 413, 415, 422)
    else:
        job = response.json()
        for _ in range(3000):  # a bound so a broken worker fails the test instead of hanging it
            job = (await api.get(f"/api/v1/ingest/jobs/{job['id']}", headers=admin)).json()
            if job["status"] in TERMINAL:
                break
            await asyncio.sleep(0.1)
        assert job["status"] == "failed", f"a {kind} file must fail its job, not half-load: {job}"
        errors = await api.get(f"/api/v1/ingest/jobs/{job['id']}/errors", headers=admin)
        assert job.get("message") or errors.json().get("items"), f"the {kind} job says nothing about why: {job}"
    observations = (await api.get("/api/v1/observations", params={"org": org}, headers=admin)).json()["items"]
    assert observations == []
