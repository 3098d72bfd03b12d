"""Demo delivery plan for Hazelwood (state id 096088): a goal on the four-year graduation rate
(baseline 79.87% in 2019-20, from the Missouri DESE graduation file, to 88% by 2025-26), a bimonthly
stocktake in Chicago time, a few actions (one overdue, one due soon, one done), a webhook-free
setup. Idempotent: a plan with the same title is left as it is."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from jose import jwt

PLAN_TITLE = "Hazelwood graduation plan"


def _district_id(api: httpx.Client) -> str | None:
    found = api.get("/api/v1/orgs", params={"state_id": "096088", "type": "district"}).raise_for_status().json()["items"]
    return found[0]["id"] if found else None


def _people(api: httpx.Client, district: str) -> dict[str, str]:
    """The demo users of the district by role, as the platform names them (the subject of their sign-in)."""
    people = {}
    for role in ("district_admin", "leader", "staff"):
        token = api.post("/auth/dev-token", json={"role": role, "district": district}).raise_for_status().json()["access_token"]
        people[role] = jwt.get_unverified_claims(token)["sub"]  # the platform's own token, just issued to us
    return people


def _first_stocktake() -> str:
    """The 15th of next month, 9:00 in the district's time zone."""
    today = date.today()
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return f"{year:04d}-{month:02d}-15T09:00:00"


def run(api: httpx.Client) -> None:
    district = _district_id(api)
    if district is None:
        return
    existing = api.get("/api/v1/plans", params={"district": district}).raise_for_status().json()["items"]
    if any(p["title"] == PLAN_TITLE for p in existing):
        return
    people = _people(api, district)
    plan = api.post(
        "/api/v1/plans",
        json={"district_id": district, "school_year": "2025-26", "title": PLAN_TITLE, "aspiration": "Every Hazelwood student graduates ready for college and career."},
    ).raise_for_status().json()
    goal = api.post(
        "/api/v1/goals",
        json={
            "plan_id": plan["id"],
            "title": "Four-year graduation rate to 88% by 2025-26",
            "metric": "graduation_rate_4yr",
            "subgroup": "all",
            "baseline_period": "2019-20",
            "baseline_value": 79.87,
            "target_period": "2025-26",
            "target_value": 88.0,
            "trajectory": {"kind": "linear"},
            "owner": people["district_admin"],
            "delivery_chain": [
                {"name": "Superintendent", "role": "chair of the stocktake"},
                {"name": "Director of secondary schools", "role": "goal owner"},
                {"name": "Principals of Central, East and West High", "role": "school leaders"},
                {"name": "Graduation coaches", "role": "work with every off-track senior"},
            ],
        },
    ).raise_for_status().json()
    strategy = api.post(
        "/api/v1/strategies",
        json={"goal_id": goal["id"], "title": "Early-warning system for 9th and 12th graders", "description": "Attendance, behaviour and course performance flags reviewed every two weeks."},
    ).raise_for_status().json()
    api.post("/api/v1/milestones", json={"strategy_id": strategy["id"], "title": "Flags live in every high school", "due_date": str(date.today() + timedelta(days=45))}).raise_for_status()
    routine = api.post(
        "/api/v1/routines",
        json={
            "district_id": district,
            "title": "Graduation stocktake",
            "kind": "stocktake",
            "goal_ids": [goal["id"]],
            "chair": people["district_admin"],
            "participants": [people["leader"], people["staff"]],
            "rrule": "FREQ=MONTHLY;INTERVAL=2;COUNT=6",
            "starts_at": _first_stocktake(),
            "timezone": "America/Chicago",
            "duration_minutes": 60,
        },
    ).raise_for_status().json()
    api.patch(f"/api/v1/routines/{routine['id']}", json={"participants": [people["leader"], people["staff"]]}).raise_for_status()
    api.post(f"/api/v1/goals/{goal['id']}/judgments", json={"rating": "amber_green", "rationale": "Two points behind the trajectory in 2022-23; the early-warning flags should close most of it if every high school runs them."}).raise_for_status()
    today = date.today()
    actions = [
        ("Audit every senior's transcript for missing credits", people["leader"], today - timedelta(days=3)),
        ("Hire two graduation coaches for East High", people["district_admin"], today + timedelta(days=2)),
        ("Share the off-track list with counselors", people["staff"], today + timedelta(days=20)),
    ]
    created = [
        api.post("/api/v1/actions", json={"title": title, "owner": owner, "due_date": str(due), "goal_id": goal["id"]}).raise_for_status().json()
        for title, owner, due in actions
    ]
    api.post(f"/api/v1/actions/{created[2]['id']}/status", json={"status": "done", "note": "Sent to all three high schools"}).raise_for_status()
    ratings = {"foundation": 3, "challenge": 3, "plan": 2, "drive": 2, "culture": 1}
    api.post(
        "/api/v1/capacity-reviews",
        json={
            "district_id": district,
            "reviewed_on": str(today),
            "ratings": [{"dimension": code, "rating": value, "evidence": "Self-assessment by the superintendent's cabinet"} for code, value in ratings.items()],
        },
    ).raise_for_status()
