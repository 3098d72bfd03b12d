"""Delivery routines across real processes: gateway → routines-api → metrics-api, and the
routines worker delivering signed webhooks to a partner receiver the test runs."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from icalendar import Calendar
from standardwebhooks.webhooks import Webhook


class Receiver:
    """A partner's webhook endpoint: a real local HTTP server recording what arrives."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/k12-hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    async def wait_for(self, count: int, within_s: float = 90) -> None:
        """Wait for deliveries (the worker runs on its own schedule); the asserts come after."""
        deadline = time.monotonic() + within_s
        while len(self.received) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def _ensure_org(api, headers, body: dict, lookup: dict) -> dict:
    found = (await api.get("/api/v1/orgs", params=lookup, headers=headers)).json()["items"]
    if found:
        return found[0]
    response = await api.post("/api/v1/orgs", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
async def api(platform):
    async with httpx.AsyncClient(base_url=platform.url(), timeout=30) as client:
        admin = (await client.post("/auth/dev-token", json={"role": "platform_admin"})).json()["access_token"]
        headers = {"authorization": f"Bearer {admin}"}
        state = await _ensure_org(client, headers, {"type": "state", "name": "Routines", "state_code": "YY", "state_id": "YY"}, {"state_id": "YY", "type": "state"})
        for code in ("RTN-1", "RTN-2"):
            await _ensure_org(
                client, headers, {"type": "district", "name": f"Routine district {code}", "state_code": "YY", "state_id": code, "parent_id": state["id"]}, {"state_id": code, "type": "district"}
            )
        yield client


async def _headers(api, role: str = "district_admin", district: str = "RTN-1") -> dict:
    response = await api.post("/auth/dev-token", json={"role": role, "district": district})
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def receiver():
    running = Receiver()
    yield running
    running.close()


async def test_a_district_runs_a_bimonthly_stocktake_end_to_end(api, receiver):
    admin = await _headers(api)
    subscription = await api.post("/api/v1/webhook-subscriptions", json={"url": receiver.url, "events": ["action.created", "action.overdue"]}, headers=admin)
    assert subscription.status_code == 201, subscription.text
    secret = subscription.json()["secret"]

    plan = await api.post("/api/v1/plans", json={"school_year": "2026-27", "title": "Every student graduates ready"}, headers=admin)
    assert plan.status_code == 201, plan.text
    goal = await api.post(
        "/api/v1/goals",
        json={
            "plan_id": plan.json()["id"],
            "title": "Four-year graduation rate to 90%",
            "metric": "graduation_rate_4yr",
            "subgroup": "all",
            "baseline_period": "2024-25",
            "baseline_value": 81.5,
            "target_period": "2027-28",
            "target_value": 90.0,
            "trajectory": {"kind": "linear"},
            "delivery_chain": [{"name": "Superintendent", "role": "chair"}, {"name": "High school principals", "role": "school leaders"}],
        },
        headers=admin,
    )
    assert goal.status_code == 201, goal.text
    goal = goal.json()
    assert goal["target"]["status"] == "synced", goal["target"]

    routine = await api.post(
        "/api/v1/routines",
        json={
            "title": "Graduation stocktake",
            "kind": "stocktake",
            "goal_ids": [goal["id"]],
            "rrule": "FREQ=MONTHLY;INTERVAL=2;COUNT=6",
            "starts_at": "2026-09-15T09:00:00",
            "timezone": "America/Chicago",
            "duration_minutes": 45,
        },
        headers=admin,
    )
    assert routine.status_code == 201, routine.text
    routine = routine.json()
    meetings = (await api.get(f"/api/v1/routines/{routine['id']}/meetings", headers=admin)).json()["items"]
    assert len(meetings) == 6
    assert [m["local_start"][11:] for m in meetings] == ["09:00:00-05:00", "09:00:00-06:00", "09:00:00-06:00", "09:00:00-05:00", "09:00:00-05:00", "09:00:00-05:00"]

    ics = await api.get(f"/api/v1/routines/{routine['id']}/calendar.ics", headers=admin)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert len([c for c in Calendar.from_ical(ics.content).walk() if c.name == "VEVENT"]) == 6

    pack = await api.get(f"/api/v1/meetings/{meetings[0]['id']}/pack", headers=admin)
    assert pack.status_code == 200, pack.text
    numbers = pack.json()["goals"][0]["numbers"]
    assert numbers["metric"] == "graduation_rate_4yr"
    assert [p["period"] for p in numbers["expected_trajectory"]] == ["2024-25", "2025-26", "2026-27", "2027-28"]
    assert "target" not in {u["part"] for u in numbers["unavailable"]}
    target = numbers["target"]
    assert target["id"] == goal["target"]["target_id"]
    assert (target["baseline_value"], target["target_value"]) == (81.5, 90.0)
    assert [p["period"] for p in target["periods"]][:1] == ["2024-25"]

    due = (date.today() - timedelta(days=3)).isoformat()
    action = await api.post(
        "/api/v1/actions", json={"title": "Audit every senior's transcript", "owner": "demo:leader", "due_date": due, "meeting_id": meetings[0]["id"], "goal_id": goal["id"]}, headers=admin
    )
    assert action.status_code == 201, action.text
    action = action.json()
    overdue = (await api.get("/api/v1/actions", params={"overdue": "true"}, headers=admin)).json()["items"]
    assert action["id"] in [a["id"] for a in overdue]
    agenda = (await api.get(f"/api/v1/meetings/{meetings[1]['id']}/agenda", headers=admin)).json()["items"]
    carried = next(i for i in agenda if i["id"] == action["id"])
    assert carried["section"] == "overdue_actions" and carried["carried_from_meeting_id"] == meetings[0]["id"]

    await receiver.wait_for(2)
    verifier = Webhook(secret)
    payloads = [verifier.verify(body, headers) for headers, body in receiver.received]
    assert sorted(p["type"] for p in payloads if p["data"]["id"] == action["id"]) == ["action.created", "action.overdue"]
    assert all(headers["webhook-id"] and headers["webhook-timestamp"] for headers, _ in receiver.received)

    log = (await api.get(f"/api/v1/webhook-subscriptions/{subscription.json()['id']}/deliveries", headers=admin)).json()["items"]
    assert {d["event_type"] for d in log if d["status"] == "delivered"} >= {"action.created", "action.overdue"}


async def test_another_district_gets_404_through_the_gateway(api):
    admin = await _headers(api)
    plan = (await api.post("/api/v1/plans", json={"school_year": "2026-27", "title": "Private plan"}, headers=admin)).json()
    outsider = await _headers(api, district="RTN-2")
    assert (await api.get(f"/api/v1/plans/{plan['id']}", headers=outsider)).status_code == 404
    assert (await api.patch(f"/api/v1/plans/{plan['id']}", json={"title": "mine"}, headers=outsider)).status_code == 404
    assert (await api.get(f"/api/v1/plans/{plan['id']}")).status_code == 401
