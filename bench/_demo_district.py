"""The demo district (Hazelwood, 096088) on a running platform: organizations and delivery plan through the
API (the demo steps), its published Missouri DESE numbers, and its stored score history.

Shared by the screen tests, the web app test and the dashboard benchmark. Idempotent."""

from __future__ import annotations

import csv
import importlib
import sys
import uuid
from pathlib import Path

import httpx
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
DESE = ROOT / "demo" / "data" / "missouri-dese"
STATE_ID = "096088"
# metric -> (file, {subgroup: (value column, n column or None)})
SOURCES = {
    "graduation_rate_4yr": ("adjusted-cohort-graduation-rate-data.csv", {
        "all": ("GRADUATION_RATE_4YR_COHORT", "ADJUSTED_4YR_COHORT"),
        "black": ("BLACK_GRADUATION_RATE_4YR_COHORT", "BLACK_ADJUSTED_4YR_COHORT"),
        "white": ("WHITE_GRADUATION_RATE_4YR_COHORT", "WHITE_ADJUSTED_4YR_COHORT"),
        "asian": ("ASIAN_GRADUATION_RATE_4YR_COHORT", "ASIAN_ADJUSTED_4YR_COHORT"),
    }),
    "proportional_attendance": ("proportional-attendance-rates-data.csv", {
        "all": ("PROPORTIONAL_ATTENDANCE_TOTAL_PCT", "PROPORTIONAL_ATTENDANCE_TOTAL"),
        "black": ("PROPORTIONAL_ATTENDANCE_BLACK_PCT", "PROPORTIONAL_ATTENDANCE_BLACK"),
        "white": ("PROPORTIONAL_ATTENDANCE_WHITE_PCT", "PROPORTIONAL_ATTENDANCE_WHITE"),
    }),
}


def _demo_step(name: str):
    sys.path.insert(0, str(ROOT / "infra"))
    try:
        return importlib.import_module(f"demo.{name}")
    finally:
        sys.path.remove(str(ROOT / "infra"))


def observation_rows(district_id: uuid.UUID) -> list[dict]:
    rows = []
    for metric, (file, columns) in SOURCES.items():
        with open(DESE / file, newline="") as f:
            for line in csv.DictReader(f):
                if line["COUNTY_DISTRICT_CODE"] != STATE_ID.lstrip("0"):
                    continue
                for subgroup, (value_col, n_col) in columns.items():
                    n = float(line[n_col] or 0) if n_col else None
                    value = float(line[value_col] or 0)
                    if (n_col and not n) or value == 0:
                        continue  # the file writes 0 for years it does not cover
                    rows.append({"org_id": district_id, "metric_code": metric, "subgroup_code": subgroup, "school_year": int(line["YEAR"]),
                                 "status": "exact", "value": value, "denominator": n, "visibility": "public", "district_id": district_id})
    return rows


async def load_numbers(database_url: str, district_id: uuid.UUID) -> None:
    from k12shared.models import Observation

    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(Observation).values(observation_rows(district_id)).on_conflict_do_nothing())
    finally:
        await engine.dispose()


def rescore(metrics_url: str, district_id: uuid.UUID) -> None:
    from k12shared.auth import service_token
    from k12shared.auth.keys import Keyring
    from k12shared.settings import get_settings

    settings = get_settings()
    token = service_token(settings, Keyring(settings), "demo-seed")
    httpx.post(f"{metrics_url}/internal/rescore", json={"org_ids": [str(district_id)]}, headers={"authorization": f"Bearer {token}"}, timeout=60).raise_for_status()


async def ensure_demo_district(platform) -> uuid.UUID:
    """Hazelwood with its plan, routine, actions, numbers and score history; answers its id."""
    admin = httpx.post(platform.url() + "/auth/dev-token", json={"role": "platform_admin"}).raise_for_status().json()["access_token"]
    with httpx.Client(base_url=platform.url(), headers={"authorization": f"Bearer {admin}"}, timeout=60) as api:
        _demo_step("orgs").run(api)
        district_id = uuid.UUID(api.get("/api/v1/orgs", params={"state_id": STATE_ID, "type": "district"}).raise_for_status().json()["items"][0]["id"])
        await load_numbers(platform.database_url, district_id)
        rescore(platform.url("metrics"), district_id)
        _demo_step("routines").run(api)
    return district_id
