"""Equity gaps, benchmarks and the scorecard over the real Missouri DESE files (26 St. Louis-area
districts, 2015-2023), with Hazelwood (096088) as the district asking. Observations are inserted
directly in the shape the ingest profiles store them: DESE's ``*`` (0 in these extracts) is kept
as suppressed, never as a number."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from k12shared.models import AuditEntry, Observation
from k12_metrics.main import app

DATA = Path(__file__).resolve().parents[2] / "demo" / "data" / "missouri-dese"
FIRST_YEAR = 2015
GRAD_GROUPS = {"all": "", "asian": "ASIAN_", "black": "BLACK_", "hispanic": "HISPANIC_", "american_indian": "INDIAN_",
               "multiracial": "MULTIRACIAL_", "pacific_islander": "HAWAIIAN_PACIFIC_ISLANDER_", "white": "WHITE_"}
GRAD_PROGRAMS = {"econ_disadv": "FRL", "swd": "IEP", "ell": "LEP"}
ATTENDANCE_GROUPS = {"all": "TOTAL", "asian": "ASIAN", "black": "BLACK", "hispanic": "HISPANIC", "american_indian": "INDIAN",
                     "multiracial": "MULTIRACE", "pacific_islander": "PACIFIC_ISLANDER", "white": "WHITE"}


def _rows(file: str):
    with open(DATA / file, newline="") as f:
        for line in csv.DictReader(f):
            if int(line["YEAR"]) >= FIRST_YEAR:
                yield line


def _obs(org_id, metric, subgroup, year, value, n=None) -> dict:
    """A published value; 0 is DESE's '*' in these extracts: kept as suppressed."""
    base = dict(org_id=org_id, metric_code=metric, subgroup_code=subgroup, school_year=year, denominator=n,
                visibility="public", district_id=org_id, lower=None, upper=None, published_as=None)
    if not value:
        return {**base, "status": "suppressed", "value": None, "published_as": "*", "denominator": None}
    return {**base, "status": "exact", "value": value}


def missouri_observations(ids: dict[str, uuid.UUID]) -> list[dict]:
    out = []
    for line in _rows("adjusted-cohort-graduation-rate-data.csv"):
        org, year = ids[line["COUNTY_DISTRICT_CODE"]], int(line["YEAR"])
        if not float(line["GRADUATION_RATE_4YR_COHORT"] or 0):
            continue  # a year the file does not cover
        for subgroup, prefix in GRAD_GROUPS.items():
            out.append(_obs(org, "graduation_rate_4yr", subgroup, year, float(line[f"{prefix}GRADUATION_RATE_4YR_COHORT"] or 0),
                            float(line[f"{prefix}ADJUSTED_4YR_COHORT"] or 0)))
        for subgroup, prefix in GRAD_PROGRAMS.items():
            out.append(_obs(org, "graduation_rate_4yr", subgroup, year, float(line[f"{prefix}_GRADUATION_RATE_4YR_COHORT"] or 0)))
    for line in _rows("proportional-attendance-rates-data.csv"):
        org, year = ids[line["COUNTY_DISTRICT_CODE"]], int(line["YEAR"])
        if not float(line["PROPORTIONAL_ATTENDANCE_TOTAL_PCT"] or 0):
            continue
        for subgroup, col in ATTENDANCE_GROUPS.items():
            out.append(_obs(org, "proportional_attendance", subgroup, year, float(line[f"PROPORTIONAL_ATTENDANCE_{col}_PCT"] or 0),
                            round(float(line[f"PROPORTIONAL_ATTENDANCE_{col}"] or 0))))
    for line in _rows("demographic-data.csv"):
        org, year = ids[line["COUNTY_DISTRICT_CODE"]], int(line["YEAR"])
        out.append(_obs(org, "enrollment", "all", year, float(line["ENROLLMENT_GRADES_K_12"] or 0)))
        out.append(_obs(org, "enrollment", "econ_disadv", year, float(line["LUNCH_COUNT_FREE_REDUCED"] or 0)))
    for line in _rows("student-staff-ratio-data.csv"):
        out.append(_obs(ids[line["COUNTY_DISTRICT_CODE"]], "students_per_teacher", "all", int(line["YEAR"]), float(line["STUDENTS_PER_TEACHER_RATIO"] or 0)))
    return out


@pytest.fixture
async def missouri(session, org_factory):
    """The 26 districts by their DESE code, and their published observations 2014-15..2022-23."""
    state = await org_factory("state", name="Missouri", state_id=f"MO-{uuid.uuid4().hex[:6]}")
    ids = {}
    with open(DATA / "district-names-and-codes.csv", newline="") as f:
        for line in csv.DictReader(f):
            org = await org_factory("district", parent=state, name=line["district_name"].title(), state_id=line["county_district_code"].zfill(6))
            ids[line["county_district_code"]] = org.id
    await session.execute(insert(Observation), missouri_observations(ids))
    await session.flush()
    return ids


@pytest.fixture
def hazelwood(missouri):
    return missouri["96088"]


@pytest.fixture
async def client(app_client):
    async with app_client(app) as c:
        yield c


async def test_hazelwood_graduation_gaps_largest_first_with_trend_and_suppressed_groups(client, hazelwood, make_token, auth):
    h = auth(make_token("district_admin", district_ids=[hazelwood]))
    r = await client.get(f"/api/v1/orgs/{hazelwood}/equity-gaps", params={"metric": "graduation_rate_4yr"}, headers=h)
    assert r.status_code == 200, r.text
    gaps = r.json()
    assert gaps["period"] == "2022-23" and gaps["reference"] == "all" and gaps["reference_value"] == 81.96 and gaps["reference_n"] == 1264
    order = [g["subgroup"] for g in gaps["gaps"]]
    assert order[0] == "swd"  # 27.87 vs 81.96: the largest gap by far
    sizes = [abs(g["gap"]) for g in gaps["gaps"]]
    assert sizes == sorted(sizes, reverse=True)
    swd = gaps["gaps"][0]
    assert swd["gap"] == pytest.approx(27.87 - 81.96) and swd["behind_by"] == pytest.approx(81.96 - 27.87)
    assert swd["trend"]["direction"] in {"narrowing", "widening", "stable"} and len(swd["trend"]["series"]) >= 5
    hispanic = next(g for g in gaps["gaps"] if g["subgroup"] == "hispanic")
    assert hispanic["behind_by"] < 0 and hispanic["n"] == 45
    assert {s["subgroup"] for s in gaps["suppressed"]} == {"american_indian", "pacific_islander"}
    assert all(s["published_as"] == "*" for s in gaps["suppressed"])

    against_white = (await client.get(f"/api/v1/orgs/{hazelwood}/equity-gaps", params={"metric": "graduation_rate_4yr", "reference": "white", "period": "2021-22"}, headers=h)).json()
    assert against_white["reference_value"] == 81.4 and "white" not in {g["subgroup"] for g in against_white["gaps"]}
    assert (await client.get(f"/api/v1/orgs/{hazelwood}/equity-gaps", params={"metric": "nope"}, headers=h)).status_code == 422


async def test_a_gap_carries_its_own_target(client, hazelwood, make_token, auth):
    h = auth(make_token("district_admin", district_ids=[hazelwood]))
    body = {"org_id": str(hazelwood), "metric": "graduation_rate_4yr", "subgroup": "swd", "reference_subgroup": "all", "title": "Halve the SWD gap",
            "baseline_period": "2021-22", "baseline_value": 35.71 - 81.46, "target_period": "2025-26", "target_value": -23, "tolerance": 2}
    assert (await client.post("/api/v1/targets", json=body, headers=h)).status_code == 201
    gaps = (await client.get(f"/api/v1/orgs/{hazelwood}/equity-gaps", params={"metric": "graduation_rate_4yr"}, headers=h)).json()
    swd = next(g for g in gaps["gaps"] if g["subgroup"] == "swd")
    assert swd["target"]["target_value"] == -23 and swd["target"]["rag"] == "red"  # the gap widened to -54.09
    other = auth(make_token("district_admin", district_ids=[uuid.uuid4()]))
    public_view = (await client.get(f"/api/v1/orgs/{hazelwood}/equity-gaps", params={"metric": "graduation_rate_4yr"}, headers=other)).json()
    assert next(g for g in public_view["gaps"] if g["subgroup"] == "swd")["target"] is None  # targets stay the district's


async def test_hazelwood_benchmarks_among_st_louis_districts(client, missouri, hazelwood, make_token, auth):
    h = auth(make_token("district_admin", district_ids=[hazelwood]))
    r = await client.get(f"/api/v1/orgs/{hazelwood}/benchmarks", params={"metric": "graduation_rate_4yr", "period": "2022-23"}, headers=h)
    assert r.status_code == 200, r.text
    b = r.json()
    values = sorted(float(line["GRADUATION_RATE_4YR_COHORT"]) for line in _rows("adjusted-cohort-graduation-rate-data.csv")
                    if line["YEAR"] == "2023" and float(line["GRADUATION_RATE_4YR_COHORT"] or 0))
    assert b["peer_group"]["kind"] == "state_type" and b["peer_group"]["with_value"] == len(values)
    below = sum(v < 81.96 for v in values)
    assert b["value"]["value"] == 81.96 and b["percentile"] == round(100 * (below + 0.5) / len(values), 1)
    assert b["rank"] == len(values) - below
    assert b["quartiles"]["q1"] <= b["median"] <= b["quartiles"]["q3"] and b["min"] == values[0] and b["max"] == values[-1]

    by_poverty = (await client.get(f"/api/v1/orgs/{hazelwood}/benchmarks", params={"metric": "graduation_rate_4yr", "peers": "poverty"}, headers=h)).json()
    assert by_poverty["peer_group"]["band"] == {"from": 50, "below": 75}  # 10,634 of 15,665 students: 67.9%
    assert 1 <= by_poverty["peer_group"]["organizations"] < 26
    by_size = (await client.get(f"/api/v1/orgs/{hazelwood}/benchmarks", params={"metric": "proportional_attendance", "peers": "enrollment"}, headers=h)).json()
    assert by_size["peer_group"]["band"] == {"from": 10_000, "below": 25_000} and by_size["value"]["value"] == 57.7
    chosen = [missouri["96089"], missouri["96109"]]
    listed = (await client.get(f"/api/v1/orgs/{hazelwood}/benchmarks", params={"metric": "graduation_rate_4yr", "peers": "list", "peer": [str(c) for c in chosen]}, headers=h)).json()
    assert listed["peer_group"]["organizations"] == 3


async def test_benchmarks_rank_published_ranges_at_their_midpoint(client, session, org_factory, make_token, auth):
    """EDFacts publishes school rates as ranges (90-94, GE95): peers still rank, flagged as estimated."""
    district = await org_factory("district", state_code="AL")
    schools = [await org_factory("school", parent=district, state_code="AL") for _ in range(4)]
    published = [("exact", 72.0, None, None, "72"), ("range", None, 90, 94, "90-94"), ("lower_bound", None, 95, None, "GE95"), ("suppressed", None, None, None, "PS")]
    for school, (status, value, low, high, text) in zip(schools, published):
        session.add(Observation(org_id=school.id, metric_code="graduation_rate_4yr", subgroup_code="all", school_year=2016, status=status,
                                value=value, lower=low, upper=high, published_as=text, visibility="public", district_id=district.id))
    await session.flush()
    b = (await client.get(f"/api/v1/orgs/{schools[1].id}/benchmarks", params={"metric": "graduation_rate_4yr"}, headers=auth(make_token("staff")))).json()
    assert b["period"] == "2015-16" and b["value"]["estimated"] is True and b["value"]["value"] == 92
    assert b["peer_group"]["with_value"] == 3 and b["peer_group"]["estimated_from_ranges"] == 2
    assert b["rank"] == 2 and b["median"] == 92


async def test_hazelwood_scorecard_is_balanced_with_targets_and_trends(client, hazelwood, make_token, auth):
    h = auth(make_token("district_admin", district_ids=[hazelwood]))
    await client.post("/api/v1/targets", json={"org_id": str(hazelwood), "metric": "proportional_attendance", "baseline_period": "2021-22",
                                               "baseline_value": 59, "target_period": "2025-26", "target_value": 75}, headers=h)
    r = await client.get(f"/api/v1/orgs/{hazelwood}/scorecard", headers=h)
    assert r.status_code == 200, r.text
    card = {p["key"]: p for p in r.json()["perspectives"]}
    assert list(card) == ["student_achievement", "equity", "attendance_engagement", "operations_finance"]
    graduation = next(m for m in card["student_achievement"]["metrics"] if m["metric"] == "graduation_rate_4yr")
    assert graduation["latest"] == {"period": "2022-23", "value": 81.96, "status": "exact", "published_as": None, "n": 1264}
    assert graduation["trend"]["direction"] == "declining" and graduation["target"] is None
    attendance = next(m for m in card["attendance_engagement"]["metrics"] if m["metric"] == "proportional_attendance")
    assert attendance["target"]["target_value"] == 75 and attendance["rag"] == "red" and attendance["status"] == "off_track"
    assert {m["metric"] for m in card["operations_finance"]["metrics"]} == {"enrollment", "students_per_teacher"}
    grad_gap = next(m for m in card["equity"]["metrics"] if m["metric"] == "graduation_rate_4yr")
    assert grad_gap["subgroup"] == "swd" and "american_indian" in grad_gap["suppressed_groups"]
    assert {m["metric"] for m in card["equity"]["metrics"]} == {"graduation_rate_4yr", "proportional_attendance"}  # not enrollment counts
    other = auth(make_token("district_admin", district_ids=[uuid.uuid4()]))
    assert (await client.get(f"/api/v1/orgs/{hazelwood}/scorecard", headers=other)).status_code == 404


async def test_private_aggregates_suppressed_everywhere_and_not_derivable(client, session, hazelwood, make_token, auth):
    """A district's own chronic absenteeism (from its SIS): the 6 Pacific Islander students are hidden,
    and so is the next smallest group, in observations, equity gaps, the scorecard and benchmarks."""
    cells = {"all": (24.0, 1000), "black": (26.0, 800), "white": (17.0, 150), "hispanic": (20.0, 44), "pacific_islander": (50.0, 6)}
    session.add_all([Observation(org_id=hazelwood, metric_code="chronic_absenteeism_rate", subgroup_code=sg, school_year=2023, status="exact",
                                 value=v, denominator=n, numerator=round(v * n / 100), visibility="district", district_id=hazelwood)
                     for sg, (v, n) in cells.items()])
    await session.flush()
    h = auth(make_token("district_admin", district_ids=[hazelwood]))
    rows = (await client.get("/api/v1/observations", params={"org": str(hazelwood), "metric": "chronic_absenteeism_rate"}, headers=h)).json()["items"]
    shown = {o["subgroup"]: o for o in rows}
    assert shown["pacific_islander"]["value"] is None and shown["pacific_islander"]["n"] is None and shown["pacific_islander"]["status"] == "suppressed"
    assert shown["hispanic"]["value"] is None and shown["hispanic"]["n"] is None  # complementary
    # The attack: all minus the shown groups, on counts and on rates.
    visible = [o for sg, o in shown.items() if sg != "all" and o["value"] is not None]
    rest_n = shown["all"]["n"] - sum(o["n"] for o in visible)
    rest_absent = shown["all"]["value"] * shown["all"]["n"] / 100 - sum(o["value"] * o["n"] / 100 for o in visible)
    assert rest_n == 50 and rest_n >= 10  # only the two groups together, never the 6 alone
    assert round(100 * rest_absent / rest_n, 1) not in {50.0, 20.0}
    audited = await session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.resource == "observations", AuditEntry.district_id == hazelwood))
    assert audited == 1  # a read of private student-derived data is audited

    gaps = (await client.get(f"/api/v1/orgs/{hazelwood}/equity-gaps", params={"metric": "chronic_absenteeism_rate"}, headers=h)).json()
    assert {g["subgroup"] for g in gaps["gaps"]} == {"black", "white"}
    assert {s["subgroup"] for s in gaps["suppressed"]} == {"hispanic", "pacific_islander"}
    card = (await client.get(f"/api/v1/orgs/{hazelwood}/scorecard", headers=h)).json()
    equity = next(p for p in card["perspectives"] if p["key"] == "equity")
    absentee = next(m for m in equity["metrics"] if m["metric"] == "chronic_absenteeism_rate")
    assert absentee["subgroup"] == "black" and set(absentee["suppressed_groups"]) == {"hispanic", "pacific_islander"}
    bench = (await client.get(f"/api/v1/orgs/{hazelwood}/benchmarks", params={"metric": "chronic_absenteeism_rate", "subgroup": "pacific_islander"}, headers=h)).json()
    assert bench["value"] is None or bench["value"]["value"] is None
    # Another district sees none of it.
    other = auth(make_token("district_admin", district_ids=[uuid.uuid4()]))
    assert (await client.get("/api/v1/observations", params={"org": str(hazelwood), "metric": "chronic_absenteeism_rate"}, headers=other)).json()["items"] == []
