"""Metrics API over the real Missouri DESE files for Hazelwood (096088): catalog, observations, frameworks, scores, risk, what-if."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest

from k12shared.models import Observation, Score
from k12_metrics.main import app

DATA = Path(__file__).resolve().parents[2] / "demo" / "data" / "missouri-dese"
HAZELWOOD = "96088"

# metric code -> (file, {subgroup: (value column, n column or None)})
SOURCES = {
    "graduation_rate_4yr": ("adjusted-cohort-graduation-rate-data.csv", {
        "all": ("GRADUATION_RATE_4YR_COHORT", "ADJUSTED_4YR_COHORT"),
        "black": ("BLACK_GRADUATION_RATE_4YR_COHORT", "BLACK_ADJUSTED_4YR_COHORT"),
        "white": ("WHITE_GRADUATION_RATE_4YR_COHORT", "WHITE_ADJUSTED_4YR_COHORT"),
        "asian": ("ASIAN_GRADUATION_RATE_4YR_COHORT", "ASIAN_ADJUSTED_4YR_COHORT"),
        "econ_disadv": ("FRL_GRADUATION_RATE_4YR_COHORT", None),
    }),
    "proportional_attendance": ("proportional-attendance-rates-data.csv", {
        "all": ("PROPORTIONAL_ATTENDANCE_TOTAL_PCT", "PROPORTIONAL_ATTENDANCE_TOTAL"),
        "black": ("PROPORTIONAL_ATTENDANCE_BLACK_PCT", "PROPORTIONAL_ATTENDANCE_BLACK"),
        "white": ("PROPORTIONAL_ATTENDANCE_WHITE_PCT", "PROPORTIONAL_ATTENDANCE_WHITE"),
        "econ_disadv": ("PROPORTIONAL_ATTENDANCE_FRL_PCT", None),
    }),
}


def hazelwood_rows(org_id, district_id, code=HAZELWOOD):
    rows = []
    for metric, (file, columns) in SOURCES.items():
        with open(DATA / file, newline="") as f:
            for line in csv.DictReader(f):
                if line["COUNTY_DISTRICT_CODE"] != code:
                    continue
                for subgroup, (value_col, n_col) in columns.items():
                    n = float(line[n_col]) if n_col else None
                    value = float(line[value_col] or 0)
                    if (n_col and not n) or value == 0:
                        continue  # the file writes 0 for years it does not cover
                    rows.append(Observation(org_id=org_id, metric_code=metric, subgroup_code=subgroup, school_year=int(line["YEAR"]),
                                            status="exact", value=value, denominator=n, visibility="public", district_id=district_id))
    return rows


@pytest.fixture
async def hazelwood(session, org_factory):
    org = await org_factory("district", state_id="096088", name="Hazelwood")
    session.add_all(hazelwood_rows(org.id, org.id))
    await session.flush()
    return org


@pytest.fixture
async def client(app_client):
    async with app_client(app) as c:
        yield c


def test_files_have_hazelwood():
    rows = hazelwood_rows(None, None)
    assert any(r.metric_code == "graduation_rate_4yr" and r.school_year == 2023 for r in rows)


async def test_catalog_lists_metrics_with_direction_and_category(client, make_token, auth):
    r = await client.get("/api/v1/metrics", headers=auth(make_token("staff")))
    assert r.status_code == 200
    by_code = {m["code"]: m for m in r.json()}
    assert by_code["graduation_rate_4yr"]["direction"] == "higher_is_better"
    assert by_code["chronic_absenteeism_rate"]["category"] == "attendance"


async def test_observations_filter_period_range_paginate_and_csv(client, hazelwood, make_token, auth):
    h = auth(make_token("staff", district_ids=[hazelwood.id]))
    r = await client.get("/api/v1/observations", params={"org": str(hazelwood.id), "metric": "graduation_rate_4yr", "subgroup": "all", "period": "2015-16"}, headers=h)
    assert r.status_code == 200, r.text
    [only] = r.json()["items"]
    assert only["period"] == "2015-16" and only["value"] == 91.5 and only["n"] == 1365
    params = {"org": str(hazelwood.id), "metric": "graduation_rate_4yr", "subgroup": "all", "period": "2019-20..2022-23", "limit": 2}
    first = (await client.get("/api/v1/observations", params=params, headers=h)).json()
    second = (await client.get("/api/v1/observations", params={**params, "cursor": first["next_cursor"]}, headers=h)).json()
    assert [o["period"] for o in first["items"] + second["items"]] == ["2019-20", "2020-21", "2021-22", "2022-23"]
    assert second["next_cursor"] is None
    text = (await client.get("/api/v1/observations", params={**params, "format": "csv", "limit": 10}, headers=h)).text
    assert text.splitlines()[0].startswith("org_id,metric,subgroup,period") and "2022-23" in text
    bad = await client.get("/api/v1/observations", params={"period": "2019-21"}, headers=h)
    assert bad.status_code == 400


async def test_suppressed_value_never_shown_and_district_rows_private(client, session, org_factory, make_token, auth):
    mine, other = await org_factory("district"), await org_factory("district")
    session.add_all([
        Observation(org_id=mine.id, metric_code="attendance_rate", subgroup_code="all", school_year=2023, status="exact", value=93.1,
                    denominator=400, visibility="district", district_id=mine.id),
        Observation(org_id=mine.id, metric_code="graduation_rate_4yr", subgroup_code="asian", school_year=2023, status="lower_bound",
                    value=None, lower=95, lower_inclusive=True, published_as="GE95", visibility="public", district_id=mine.id),
    ])
    await session.flush()
    params = {"org": str(mine.id)}
    own = (await client.get("/api/v1/observations", params=params, headers=auth(make_token("staff", district_ids=[mine.id])))).json()["items"]
    assert {o["metric"] for o in own} == {"attendance_rate", "graduation_rate_4yr"}
    protected = next(o for o in own if o["status"] == "lower_bound")
    assert protected["value"] is None and protected["lower"] == 95 and protected["published_as"] == "GE95"
    others = (await client.get("/api/v1/observations", params=params, headers=auth(make_token("staff", district_ids=[other.id])))).json()["items"]
    assert [o["metric"] for o in others] == ["graduation_rate_4yr"]


async def test_msip_framework_is_shipped_and_adds_to_140(client, make_token, auth):
    r = await client.get("/api/v1/frameworks/mo-msip5", headers=auth(make_token("staff")))
    assert r.status_code == 200
    doc = r.json()["document"]
    assert sum(c["points_possible"] for c in doc["components"]) == 140
    assert [c["min_percent"] for c in doc["classification"]] == [90, 70, 50, 0]
    assert all(p["description"] for p in doc["parameters"].values())


OTHER_STATE = {
    "code": "zz-simple", "version": 1, "name": "Another state's framework", "state_code": "ZZ",
    "components": [{"key": "grad", "name": "Graduation", "points_possible": 50, "inputs": [{"metric": "graduation_rate_4yr"}],
                    "levels": [{"name": "Meets", "threshold": "grad.meets", "share": "share.meets"}]}],
    "parameters": {"grad.meets": {"value": 80, "description": "Meets at 80%"}, "share.meets": {"value": 1, "description": "All points"}},
    "classification": [{"name": "Good", "min_percent": 60}, {"name": "Poor", "min_percent": 0}],
}


async def test_another_states_framework_is_posted_and_scored_without_code(client, hazelwood, make_token, auth):
    admin = auth(make_token("platform_admin"))
    assert (await client.post("/api/v1/frameworks", json=OTHER_STATE, headers=auth(make_token("district_admin", district_ids=[hazelwood.id])))).status_code == 403
    r = await client.post("/api/v1/frameworks", json=OTHER_STATE, headers=admin)
    assert r.status_code == 201, r.text
    assert (await client.post("/api/v1/frameworks", json=OTHER_STATE, headers=admin)).status_code == 409
    broken = {**OTHER_STATE, "version": 2, "parameters": {"share.meets": {"value": 1, "description": "x"}}}
    assert (await client.post("/api/v1/frameworks", json=broken, headers=admin)).status_code == 422
    score = (await client.get(f"/api/v1/orgs/{hazelwood.id}/scores", params={"framework": "zz-simple", "period": "2022-23"}, headers=admin)).json()
    assert score["points_earned"] == 50 and score["classification"] == "Good"


async def test_hazelwood_2022_23_msip_score_adds_up_and_is_explained(client, hazelwood, make_token, auth):
    h = auth(make_token("district_admin", district_ids=[hazelwood.id]))
    r = await client.get(f"/api/v1/orgs/{hazelwood.id}/scores", headers=h)
    assert r.status_code == 200, r.text
    score = r.json()
    assert score["period"] == "2022-23" and score["framework"]["code"] == "mo-msip5"
    scored = [c for c in score["components"] if c["has_data"]]
    assert {c["key"] for c in scored} == {"attendance", "graduation"}
    assert score["points_possible"] == 40 and score["points_earned"] == sum(c["points_earned"] for c in scored)
    assert score["percent_of_possible"] == round(100 * score["points_earned"] / 40, 1)
    graduation = next(c for c in scored if c["key"] == "graduation")
    assert graduation["value"] == 81.96 and graduation["level"] == "Approaching"
    assert graduation["explanation"]["observations"][0]["n"] == 1264
    assert {t["level"]: t["met"] for t in graduation["explanation"]["thresholds"]} == {"Exceeding": False, "On Target": False, "Approaching": True, "Floor": True}
    assert set(score["components_without_data"]) == {"academic_achievement", "subgroup_achievement", "college_career_readiness"}
    assert score["notes"] and score["classification"] == "Unaccredited"
    other = auth(make_token("district_admin", district_ids=[uuid.uuid4()]))
    assert (await client.get(f"/api/v1/orgs/{hazelwood.id}/scores", headers=other)).status_code == 404


async def test_rescore_stores_history_for_service_only(client, session, hazelwood, make_token, auth):
    body = {"org_ids": [str(hazelwood.id)], "school_years": ["2021-22", "2022-23"]}
    assert (await client.post("/internal/rescore", json=body, headers=auth(make_token("district_admin", district_ids=[hazelwood.id])))).status_code == 403
    r = await client.post("/internal/rescore", json=body, headers=auth(make_token("service")))
    assert r.status_code == 200, r.text
    assert [s["period"] for s in r.json()["stored"]] == ["2021-22", "2022-23"]
    score = (await client.get(f"/api/v1/orgs/{hazelwood.id}/scores", headers=auth(make_token("platform_admin")))).json()
    assert [h["period"] for h in score["history"]] == ["2021-22", "2022-23"]
    assert score["history"][-1]["points_earned"] == score["points_earned"]
    stored_graduation = next(c for c in score["history"][-1]["components"] if c["key"] == "graduation")
    assert stored_graduation == {"key": "graduation", "value": 81.96, "level": "Approaching", "points_earned": 15.0, "points_possible": 30}


async def test_risk_names_students_and_projects(client, hazelwood, make_token, auth):
    h = auth(make_token("district_admin", district_ids=[hazelwood.id]))
    risk = (await client.get(f"/api/v1/orgs/{hazelwood.id}/scores/risk", params={"period": "2022-23"}, headers=h)).json()
    graduation = next(c for c in risk["components"] if c["key"] == "graduation")
    # 85 - 81.96 = 3.04 points of 1264 students: 38.4 -> 39 more graduates reach On Target
    assert graduation["up"]["level"] == "On Target" and graduation["up"]["students"] == 39 and graduation["up"]["points_gained"] == 7.5
    assert graduation["down"]["percentage_points"] == 6.96 and graduation["down"]["students_margin"] == 87
    assert graduation["projection"]["period"] == "2023-24"


@pytest.mark.parametrize("grad,attendance", [(81.96, 57.7), (85, 57.7), (90, 80), (95, 95), (100, 100)])
async def test_what_if_raising_graduation_and_attendance_never_lowers_score(client, session, hazelwood, make_token, auth, grad, attendance):
    h = auth(make_token("district_admin", district_ids=[hazelwood.id]))
    base = (await client.get(f"/api/v1/orgs/{hazelwood.id}/scores", params={"period": "2022-23"}, headers=h)).json()
    body = {"period": "2022-23", "changes": [{"metric": "graduation_rate_4yr", "subgroup": "all", "value": grad},
                                             {"metric": "proportional_attendance", "subgroup": "all", "value": attendance}]}
    r = await client.post(f"/api/v1/orgs/{hazelwood.id}/scores/what-if", json=body, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["points_earned"] >= base["points_earned"] and r.json()["stored"] is False
    assert (await session.scalar(Score.__table__.select().where(Score.org_id == hazelwood.id).limit(1))) is None


async def test_district_admin_computes_its_scores_and_history_keeps_each_run(client, hazelwood, make_token, auth):
    h = auth(make_token("district_admin", district_ids=[hazelwood.id]))
    r = await client.post(f"/api/v1/orgs/{hazelwood.id}/scores/compute", json={"periods": ["2022-23"]}, headers=h)
    assert r.status_code == 200, r.text
    [stored] = r.json()["stored"]
    score = (await client.get(f"/api/v1/orgs/{hazelwood.id}/scores", params={"period": "2022-23"}, headers=h)).json()
    assert stored["points_earned"] == score["points_earned"] and stored["classification"] == score["classification"]
    everything = (await client.post(f"/api/v1/orgs/{hazelwood.id}/scores/compute", json={}, headers=h)).json()["stored"]
    assert len(everything) > 5 and everything[-1]["period"] == "2022-23"
    staff = auth(make_token("staff", district_ids=[hazelwood.id]))
    assert (await client.post(f"/api/v1/orgs/{hazelwood.id}/scores/compute", json={}, headers=staff)).status_code == 403
    other = auth(make_token("district_admin", district_ids=[uuid.uuid4()]))
    assert (await client.post(f"/api/v1/orgs/{hazelwood.id}/scores/compute", json={}, headers=other)).status_code == 404
