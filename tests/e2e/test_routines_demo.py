"""The demo step for routines runs against a real platform, twice without adding anything."""

from __future__ import annotations

import importlib
import sys

import httpx

from k12shared.settings import REPO_ROOT


def _demo_module(name: str):
    sys.path.insert(0, str(REPO_ROOT / "infra"))
    try:
        return importlib.import_module(f"demo.{name}")
    finally:
        sys.path.remove(str(REPO_ROOT / "infra"))


def test_hazelwood_demo_plan_is_created_once(platform):
    admin = httpx.post(platform.url() + "/auth/dev-token", json={"role": "platform_admin"}).json()["access_token"]
    with httpx.Client(base_url=platform.url(), headers={"authorization": f"Bearer {admin}"}, timeout=60) as api:
        _demo_module("orgs").run(api)
        routines = _demo_module("routines")
        routines.run(api)
        routines.run(api)
        district = api.get("/api/v1/orgs", params={"state_id": "096088", "type": "district"}).json()["items"][0]["id"]
        plans = api.get("/api/v1/plans", params={"district": district}).json()["items"]
        assert [p["title"] for p in plans].count(routines.PLAN_TITLE) == 1
        detail = api.get(f"/api/v1/plans/{plans[0]['id']}").json()
        assert detail["goals"][0]["metric"] == "graduation_rate_4yr"
        routine = api.get("/api/v1/routines", params={"district": district}).json()["items"][0]
        assert routine["meeting_count"] == 6 and routine["timezone"] == "America/Chicago"
        overdue = api.get("/api/v1/actions", params={"district": district, "overdue": "true"}).json()["items"]
        assert len(overdue) == 1
