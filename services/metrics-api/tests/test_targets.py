"""Targets and trajectories: CRUD, tenancy, every period judged (on/off track, RAG), gap targets."""

from __future__ import annotations

import pytest

from k12shared.models import Observation
from k12_metrics.main import app
from k12_metrics.targets.trajectory import Plan, expected, judge

# Hazelwood's published four-year graduation rate (DESE), all students and Black students.
GRAD = {2019: 88.2, 2020: 86.9, 2021: 85.3, 2022: 83.4, 2023: 81.96}
GRAD_BLACK = {2019: 86.5, 2020: 85.7, 2021: 84.0, 2022: 82.1, 2023: 80.9}
GRAD_WHITE = {2019: 92.3, 2020: 91.0, 2021: 90.2, 2022: 88.0, 2023: 87.5}


@pytest.fixture
async def district(session, org_factory):
    org = await org_factory("district", name="Hazelwood")
    for subgroup, series, n in (("all", GRAD, 1264), ("black", GRAD_BLACK, 1000), ("white", GRAD_WHITE, 180)):
        for year, value in series.items():
            session.add(Observation(org_id=org.id, metric_code="graduation_rate_4yr", subgroup_code=subgroup, school_year=year,
                                    status="exact", value=value, denominator=n, visibility="public", district_id=org.id))
    await session.flush()
    return org


@pytest.fixture
async def client(app_client):
    async with app_client(app) as c:
        yield c


def test_trajectories_linear_stepped_and_points():
    linear = Plan(2022, 80, 2026, 90)
    assert [expected(linear, y) for y in (2021, 2022, 2024, 2026, 2028)] == [None, 80, 85, 90, 90]
    stepped = Plan(2022, 80, 2026, 90, "stepped", {2024: 84})
    assert [expected(stepped, y) for y in (2023, 2024, 2025, 2026)] == [80, 84, 84, 90]
    points = Plan(2022, 80, 2026, 90, "points", {2023: 81, 2025: 89})
    assert [expected(points, y) for y in (2023, 2024, 2025)] == [81, 85, 89]
    assert judge(linear, 85, 85.5)["rag"] == "green"
    assert judge(linear, 85, 84.2) == {"status": "on_track", "rag": "amber", "behind_by": 0.8, "deviation": -0.8}
    assert judge(linear, 85, 83.0)["status"] == "off_track"
    lower = Plan(2022, 20, 2026, 10, tolerance=1, higher_is_better=False)  # chronic absenteeism going down
    assert judge(lower, expected(lower, 2024), 14.5)["rag"] == "green" and judge(lower, 15, 17)["rag"] == "red"


async def test_routines_goal_body_creates_a_target_judged_each_period(client, district, make_token, auth):
    h = auth(make_token("district_admin", district_ids=[district.id]))
    # The exact body routines-api sends for a goal (k12_routines.plans.service.target_request).
    body = {"org_id": str(district.id), "metric": "graduation_rate_4yr", "subgroup": "all", "baseline_period": "2018-19",
            "baseline_value": 88.2, "target_value": 92.0, "target_period": "2022-23", "trajectory": {"kind": "linear", "points": []}}
    r = await client.post("/api/v1/targets", json=body, headers=h)
    assert r.status_code == 201, r.text
    target = r.json()
    assert [p["period"] for p in target["periods"]] == ["2018-19", "2019-20", "2020-21", "2021-22", "2022-23"]
    second = target["periods"][1]
    assert second["expected"] == 89.15 and second["actual"] == 86.9 and second["rag"] == "red" and second["status"] == "off_track"
    assert target["status"] == "off_track" and target["rag"] == "red" and target["latest"]["period"] == "2022-23"
    again = (await client.get(f"/api/v1/targets/{target['id']}", headers=h)).json()
    assert again["periods"] == target["periods"]

    eased = await client.patch(f"/api/v1/targets/{target['id']}", json={"target_value": 80, "tolerance": 3}, headers=h)
    assert eased.status_code == 200 and eased.json()["direction"] == "lower_is_better"
    assert eased.json()["rag"] == "amber"  # on a path down to 80, 81.96 is 1.96 behind: within 3
    assert (await client.patch(f"/api/v1/targets/{target['id']}", json={"target_period": "2017-18"}, headers=h)).status_code == 422


async def test_stepped_and_explicit_point_trajectories_and_validation(client, district, make_token, auth):
    h = auth(make_token("district_admin", district_ids=[district.id]))
    base = {"org_id": str(district.id), "metric": "graduation_rate_4yr", "baseline_period": "2019-20", "baseline_value": 86.9,
            "target_period": "2023-24", "target_value": 90}
    stepped = (await client.post("/api/v1/targets", json={**base, "trajectory": {"kind": "stepped", "points": [{"period": "2021-22", "value": 88}]}}, headers=h)).json()
    assert [p["expected"] for p in stepped["periods"]] == [86.9, 86.9, 88, 88, 90]
    explicit = await client.post("/api/v1/targets", json={**base, "tolerance": 2, "trajectory": {"kind": "explicit", "points": [{"period": "2022-23", "value": 83}]}}, headers=h)
    assert explicit.status_code == 201 and explicit.json()["trajectory"]["kind"] == "points"
    assert explicit.json()["latest"]["period"] == "2022-23" and explicit.json()["rag"] == "amber"  # 81.96 vs 83: within 2
    assert explicit.json()["periods"][-1]["actual_status"] == "missing" and explicit.json()["periods"][-1]["rag"] is None
    for bad in ({"trajectory": {"kind": "points"}}, {"target_period": "2018-19"}, {"metric": "nope"}, {"subgroup": "martians"},
                {"trajectory": {"kind": "stepped", "points": [{"period": "2030-31", "value": 1}]}}):
        assert (await client.post("/api/v1/targets", json={**base, **bad}, headers=h)).status_code == 422, bad


async def test_gap_target_judges_subgroup_minus_reference(client, district, make_token, auth):
    h = auth(make_token("district_admin", district_ids=[district.id]))
    body = {"org_id": str(district.id), "metric": "graduation_rate_4yr", "subgroup": "black", "reference_subgroup": "all",
            "baseline_period": "2018-19", "baseline_value": -1.7, "target_period": "2023-24", "target_value": 0, "tolerance": 0.5}
    gap = (await client.post("/api/v1/targets", json=body, headers=h)).json()
    assert gap["kind"] == "gap" and gap["direction"] == "higher_is_better"
    latest = gap["latest"]
    assert latest["period"] == "2022-23" and latest["actual"] == pytest.approx(80.9 - 81.96)
    # the gap narrowed from -1.7 to -1.06, but the line expected -0.34 by then: 0.72 behind, more than 0.5
    assert latest["rag"] == "red" and latest["expected"] == pytest.approx(-0.34) and gap["status"] == "off_track"


async def test_targets_belong_to_their_district(client, district, org_factory, make_token, auth):
    other = await org_factory("district")
    mine = auth(make_token("district_admin", district_ids=[district.id]))
    theirs = auth(make_token("district_admin", district_ids=[other.id]))
    body = {"org_id": str(district.id), "metric": "graduation_rate_4yr", "baseline_period": "2021-22", "baseline_value": 83.4,
            "target_period": "2024-25", "target_value": 88}
    assert (await client.post("/api/v1/targets", json=body, headers=theirs)).status_code == 404
    assert (await client.post("/api/v1/targets", json=body, headers=auth(make_token("staff", district_ids=[district.id])))).status_code == 403
    created = (await client.post("/api/v1/targets", json=body, headers=mine)).json()
    assert (await client.get(f"/api/v1/targets/{created['id']}", headers=theirs)).status_code == 404
    assert (await client.delete(f"/api/v1/targets/{created['id']}", headers=theirs)).status_code == 404
    assert (await client.get("/api/v1/targets", headers=theirs)).json()["items"] == []
    listed = (await client.get("/api/v1/targets", params={"org": str(district.id), "metric": "graduation_rate_4yr"}, headers=mine)).json()
    assert [t["id"] for t in listed["items"]] == [created["id"]]
    assert (await client.delete(f"/api/v1/targets/{created['id']}", headers=mine)).status_code == 204
    assert (await client.get(f"/api/v1/targets/{created['id']}", headers=mine)).status_code == 404


async def test_private_actual_below_threshold_is_not_judged(client, session, district, make_token, auth):
    session.add_all([
        Observation(org_id=district.id, metric_code="chronic_absenteeism_rate", subgroup_code=sg, school_year=2024, status="exact",
                    value=v, denominator=n, visibility="district", district_id=district.id)
        for sg, v, n in (("all", 22.0, 400), ("black", 25.0, 300), ("white", 18.0, 92), ("asian", 0.0, 8))
    ])
    await session.flush()
    h = auth(make_token("district_admin", district_ids=[district.id]))
    body = {"org_id": str(district.id), "metric": "chronic_absenteeism_rate", "subgroup": "asian", "baseline_period": "2022-23",
            "baseline_value": 20, "target_period": "2025-26", "target_value": 10}
    small = (await client.post("/api/v1/targets", json=body, headers=h)).json()
    only = next(p for p in small["periods"] if p["period"] == "2023-24")
    assert only["actual"] is None and only["actual_status"] == "suppressed" and small["status"] is None
    # white (92) is hidden too, or asian could be derived from all minus black minus white
    white = (await client.post("/api/v1/targets", json={**body, "subgroup": "white"}, headers=h)).json()
    assert next(p for p in white["periods"] if p["period"] == "2023-24")["actual_status"] == "suppressed"
