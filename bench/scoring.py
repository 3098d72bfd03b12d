"""Scoring benchmark: every school in the EDFacts 2015-16 graduation file scored for one framework,
then the latency of observation and score reads on their own.

Setup loads the file straight into PostgreSQL with COPY (schools, their districts and states,
and every subgroup's published rate, protected values kept as suppressed / bounds / ranges), so
the figure measures scoring, not ingest. The framework is posted through the API like any
state's: five components reading the four-year rate of all students and four subgroups.

Figures:
- ``scoring_full_state_s``: one ``POST /internal/rescore`` for every school (read, score, store as history);
- ``scoring_schools``: schools scored; ``scoring_rows_per_s``;
- ``observations_read_p50_ms`` / ``_p99_ms`` and ``score_read_p50_ms`` / ``_p99_ms``: sequential reads through the gateway.
"""

from __future__ import annotations

import csv
import random
import statistics
import time
import uuid
from pathlib import Path

import asyncpg

from bench.context import percentile

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "demo" / "data" / "edfacts" / "acgr-sch-sy2015-16.csv"
YEAR = 2016
SUBGROUPS = {"ALL": "all", "MAM": "american_indian", "MAS": "asian", "MBL": "black", "MHI": "hispanic", "MTR": "multiracial",
             "MWH": "white", "CWD": "swd", "ECD": "econ_disadv", "LEP": "ell"}
FIPS = {"01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT", "10": "DE", "11": "DC", "12": "FL", "13": "GA",
        "15": "HI", "16": "ID", "17": "IL", "18": "IN", "19": "IA", "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD", "25": "MA",
        "26": "MI", "27": "MN", "28": "MS", "29": "MO", "30": "MT", "31": "NE", "32": "NV", "33": "NH", "34": "NJ", "35": "NM", "36": "NY",
        "37": "NC", "38": "ND", "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI", "45": "SC", "46": "SD", "47": "TN", "48": "TX",
        "49": "UT", "50": "VT", "51": "VA", "53": "WA", "54": "WV", "55": "WI", "56": "WY", "60": "AS", "66": "GU", "69": "MP", "72": "PR", "78": "VI"}
READS = 300

FRAMEWORK = {
    "code": "bench-acgr", "version": 1, "name": "Graduation for every group (benchmark framework)", "state_code": None,
    "components": [
        {"key": f"grad_{sg}", "name": f"Graduation, {sg}", "points_possible": pts, "inputs": [{"metric": "graduation_rate_4yr", "subgroup": sg}],
         "levels": [{"name": n, "threshold": f"grad.{n.lower()}", "share": f"share.{n.lower()}"} for n in ("Exceeding", "Meeting", "Approaching")]}
        for sg, pts in (("all", 40), ("econ_disadv", 15), ("swd", 15), ("ell", 15), ("black", 15))
    ],
    "parameters": {
        "grad.exceeding": {"value": 90, "description": "Rate rated Exceeding"}, "grad.meeting": {"value": 80, "description": "Rate rated Meeting"},
        "grad.approaching": {"value": 67, "description": "Rate rated Approaching"}, "share.exceeding": {"value": 1, "description": "All points"},
        "share.meeting": {"value": 0.75, "description": "Three quarters"}, "share.approaching": {"value": 0.5, "description": "Half"},
    },
    "classification": [{"name": "High", "min_percent": 80}, {"name": "Middle", "min_percent": 50}, {"name": "Low", "min_percent": 0}],
}


def parse_rate(text: str) -> tuple[str, float | None, float | None, float | None, bool | None, bool | None] | None:
    """EDFacts rate text -> (status, value, lower, upper, lower inclusive, upper inclusive); None for '.' (not applicable)."""
    text = text.strip()
    if text in (".", ""):
        return None
    if text == "PS":
        return "suppressed", None, None, None, None, None
    if text[:2] in ("GE", "GT"):
        return "lower_bound", None, float(text[2:]), None, text[1] == "E", None
    if text[:2] in ("LE", "LT"):
        return "upper_bound", None, None, float(text[2:]), None, text[1] == "E"
    if "-" in text:
        low, high = text.split("-", 1)
        return "range", None, float(low), float(high), True, True
    return "exact", float(text), None, None, None, None


def read_file() -> list[dict]:
    with open(FILE, newline="", encoding="latin-1") as f:
        return list(csv.DictReader(f))


async def load(database_url: str) -> list[uuid.UUID]:
    """States, districts, schools and observations by COPY; returns the school ids."""
    lines = read_file()
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        async with conn.transaction():
            states = {code: uuid.uuid4() for code in {FIPS.get(line["FIPST"], "ZZ") for line in lines}}
            districts = {line["LEAID"]: (uuid.uuid4(), FIPS.get(line["FIPST"], "ZZ"), line["LEANM"]) for line in lines}
            schools = {line["NCESSCH"]: (uuid.uuid4(), line) for line in lines}
            orgs = [(sid, "state", code, code, None, None, None, f"BENCH-{code}") for code, sid in states.items()]
            orgs += [(did, "district", name[:300], code, states[code], did, leaid, None) for leaid, (did, code, name) in districts.items()]
            orgs += [(sid, "school", line["SCHNAM"][:300], FIPS.get(line["FIPST"], "ZZ"), districts[line["LEAID"]][0], districts[line["LEAID"]][0],
                      nces, None) for nces, (sid, line) in schools.items()]
            await conn.execute("create temp table bench_orgs (like organizations including defaults) on commit drop")
            await conn.copy_records_to_table("bench_orgs", records=orgs,
                                             columns=["id", "type", "name", "state_code", "parent_id", "district_id", "nces_id", "state_id"])
            await conn.execute("insert into organizations select * from bench_orgs on conflict do nothing")
            ids = dict(await conn.fetch("select nces_id, id from organizations where type = 'school' and nces_id = any($1::text[])", list(schools)))
            district_of = dict(await conn.fetch("select id, district_id from organizations where id = any($1::uuid[])", list(ids.values())))
            observations = []
            for nces, (_, line) in schools.items():
                org = ids[nces]
                for prefix, subgroup in SUBGROUPS.items():
                    parsed = parse_rate(line[f"{prefix}_RATE_1516"])
                    if parsed is None:
                        continue
                    status, value, lower, upper, lower_inclusive, upper_inclusive = parsed
                    cohort = line[f"{prefix}_COHORT_1516"].strip()
                    observations.append((org, "graduation_rate_4yr", subgroup, YEAR, status, value, lower, upper, lower_inclusive, upper_inclusive,
                                         None if status == "exact" else line[f"{prefix}_RATE_1516"].strip(),
                                         float(cohort) if cohort.isdigit() else None, "public", district_of[org]))
            await conn.execute("create temp table bench_obs (like observations including defaults) on commit drop")
            await conn.copy_records_to_table("bench_obs", records=observations, columns=[
                "org_id", "metric_code", "subgroup_code", "school_year", "status", "value", "lower", "upper", "lower_inclusive",
                "upper_inclusive", "published_as", "denominator", "visibility", "district_id"])
            await conn.execute("insert into observations select * from bench_obs on conflict do nothing")
            return list(ids.values())
    finally:
        await conn.close()


async def timed_reads(api, paths: list[tuple[str, dict]]) -> list[float]:
    took = []
    for path, params in paths:
        started = time.perf_counter()
        response = await api.get(path, params=params)
        took.append(1000 * (time.perf_counter() - started))
        response.raise_for_status()
    return took


async def run(ctx) -> dict:
    api = ctx.admin_api
    started = time.monotonic()
    school_ids = await load(ctx.database_url)
    load_s = time.monotonic() - started
    posted = await api.post("/api/v1/frameworks", json=FRAMEWORK)
    assert posted.status_code in (201, 409), posted.text

    import httpx

    async with httpx.AsyncClient(base_url=ctx.url("metrics"), headers={"authorization": api.headers["authorization"]}, timeout=600) as metrics:
        started = time.perf_counter()
        response = await metrics.post("/internal/rescore", json={"org_ids": [str(i) for i in school_ids], "school_years": ["2015-16"], "framework": "bench-acgr"})
        scoring_s = time.perf_counter() - started
        response.raise_for_status()
        stored, timings = response.json()["stored_count"], response.json()["timings"]

    sample = random.Random(7).sample(school_ids, min(READS, len(school_ids)))
    await timed_reads(api, [(f"/api/v1/orgs/{sample[0]}/scores", {"framework": "bench-acgr"})] * 5)  # warm the pools
    observations = await timed_reads(api, [("/api/v1/observations", {"org": str(o), "metric": "graduation_rate_4yr"}) for o in sample])
    scores = await timed_reads(api, [(f"/api/v1/orgs/{o}/scores", {"framework": "bench-acgr", "period": "2015-16"}) for o in sample])
    return {
        "scoring_setup_copy_s": round(load_s, 2),
        "scoring_schools": len(school_ids),
        "scoring_scores_stored": stored,
        "scoring_full_state_s": round(scoring_s, 2),
        "scoring_rows_per_s": round(stored / scoring_s),
        "scoring_read_s": timings["read_s"], "scoring_compute_s": timings["score_s"], "scoring_store_s": timings["store_s"],
        "scoring_metrics_api_cpu_s": timings["service_cpu_s"],
        "observations_read_p50_ms": round(percentile(observations, 50), 2),
        "observations_read_p99_ms": round(percentile(observations, 99), 2),
        "observations_read_mean_ms": round(statistics.fmean(observations), 2),
        "score_read_p50_ms": round(percentile(scores, 50), 2),
        "score_read_p99_ms": round(percentile(scores, 99), 2),
        "score_read_mean_ms": round(statistics.fmean(scores), 2),
        "reads_sampled": len(sample),
    }
