"""The metrics demo step runs against a real platform, twice without adding anything: Hazelwood's
targets exist once, and every Missouri district with data has a stored MSIP score."""

from __future__ import annotations

import asyncio
import csv
import importlib
import sys

import asyncpg
import httpx

from k12shared.settings import REPO_ROOT

DATA = REPO_ROOT / "demo" / "data" / "missouri-dese"


def _demo_module(name: str):
    sys.path.insert(0, str(REPO_ROOT / "infra"))
    try:
        return importlib.import_module(f"demo.{name}")
    finally:
        sys.path.remove(str(REPO_ROOT / "infra"))


def _hazelwood_rows(org_id) -> list[tuple]:
    """Published graduation (all, students with disabilities) and proportional attendance, 2018-19..2022-23."""
    rows = []
    with open(DATA / "adjusted-cohort-graduation-rate-data.csv", newline="") as f:
        for line in csv.DictReader(f):
            if line["COUNTY_DISTRICT_CODE"] == "96088" and int(line["YEAR"]) >= 2019:
                rows.append((org_id, "graduation_rate_4yr", "all", int(line["YEAR"]), float(line["GRADUATION_RATE_4YR_COHORT"]), float(line["ADJUSTED_4YR_COHORT"])))
                rows.append((org_id, "graduation_rate_4yr", "swd", int(line["YEAR"]), float(line["IEP_GRADUATION_RATE_4YR_COHORT"]), None))
    with open(DATA / "proportional-attendance-rates-data.csv", newline="") as f:
        for line in csv.DictReader(f):
            if line["COUNTY_DISTRICT_CODE"] == "96088" and int(line["YEAR"]) >= 2019:
                rows.append((org_id, "proportional_attendance", "all", int(line["YEAR"]), float(line["PROPORTIONAL_ATTENDANCE_TOTAL_PCT"]),
                             round(float(line["PROPORTIONAL_ATTENDANCE_TOTAL"]))))
    return rows


async def _insert(database_url: str, org_id: str) -> None:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await conn.executemany(
            "insert into observations (org_id, metric_code, subgroup_code, school_year, status, value, denominator, visibility, district_id)"
            " values ($1::uuid, $2, $3, $4, 'exact', $5, $6, 'public', $1::uuid) on conflict do nothing",
            _hazelwood_rows(org_id),
        )
    finally:
        await conn.close()


async def _stored_scores(database_url: str, org_id: str) -> int:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        return await conn.fetchval("select count(*) from scores where org_id = $1::uuid", org_id)
    finally:
        await conn.close()


def test_hazelwood_demo_targets_and_scores_once(platform):
    admin = httpx.post(platform.url() + "/auth/dev-token", json={"role": "platform_admin"}).json()["access_token"]
    with httpx.Client(base_url=platform.url(), headers={"authorization": f"Bearer {admin}"}, timeout=60) as api:
        _demo_module("orgs").run(api)
        district = api.get("/api/v1/orgs", params={"state_id": "096088", "type": "district"}).json()["items"][0]["id"]
        asyncio.run(_insert(platform.database_url, district))
        metrics = _demo_module("metrics")
        metrics.run(api)
        stored_once = asyncio.run(_stored_scores(platform.database_url, district))
        metrics.run(api)
        targets = api.get("/api/v1/targets", params={"org": district}).json()["items"]
        titles = [t["title"] for t in targets]  # the routines demo may have added its goal's target too
        for title in ("Graduation: 90% by 2026-27", "Halve the graduation gap for students with disabilities", "Proportional attendance: 70% by 2025-26"):
            assert titles.count(title) == 1, titles
        graduation = next(t for t in targets if t["title"] == "Graduation: 90% by 2026-27")
        assert graduation["baseline_period"] == "2022-23" and graduation["baseline_value"] == 81.96
        gap = next(t for t in targets if t["kind"] == "gap")
        assert gap["reference_subgroup"] == "all" and gap["baseline_value"] < 0
        score = api.get(f"/api/v1/orgs/{district}/scores").json()
        assert score["period"] == "2022-23" and [h["period"] for h in score["history"]][-1] == "2022-23"
        assert len(score["history"]) >= 5 and stored_once >= len(score["history"])  # ingest may have loaded more years already
        assert asyncio.run(_stored_scores(platform.database_url, district)) == stored_once  # the second run stored nothing
        # Through the gateway too: equity gaps and benchmarks answer for Hazelwood.
        gaps = api.get(f"/api/v1/orgs/{district}/equity-gaps", params={"metric": "graduation_rate_4yr"}).json()
        assert gaps["gaps"][0]["subgroup"] == "swd" and gaps["gaps"][0]["target"]["id"] == gap["id"]
        bench = api.get(f"/api/v1/orgs/{district}/benchmarks", params={"metric": "graduation_rate_4yr"})
        assert bench.status_code == 200 and bench.json()["value"]["value"] == 81.96
