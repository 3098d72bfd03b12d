"""Meeting preparation: agenda order, the pack (frozen once published), memos, notes, decisions,
follow-through numbers."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from k12shared.models import Meeting, OutboxEvent


async def _second_goal(client, admin, plan, title="Cut chronic absence"):
    body = {
        "plan_id": plan["id"], "title": title, "metric": "graduation_rate_4yr", "subgroup": "all",
        "baseline_period": "2024-25", "baseline_value": 70, "target_period": "2026-27", "target_value": 76,
        "trajectory": {"kind": "points", "points": [{"period": "2025-26", "value": 72}]},
    }
    response = await client.post("/api/v1/goals", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


async def test_agenda_puts_goals_judged_amber_red_or_red_first_then_overdue_actions(client, admin, plan, goal, routine, meetings):
    other = await _second_goal(client, admin, plan)
    await client.patch(f"/api/v1/routines/{routine['id']}", json={"goal_ids": [goal["id"], other["id"]]}, headers=admin)
    await client.post(f"/api/v1/goals/{other['id']}/judgments", json={"rating": "amber_red", "rationale": "Attendance fell in two schools"}, headers=admin)
    await client.post(f"/api/v1/goals/{goal['id']}/judgments", json={"rating": "green", "rationale": "On track"}, headers=admin)
    late = (await client.post("/api/v1/actions", json={"title": "Late", "owner": "test:x", "due_date": (date.today() - timedelta(days=3)).isoformat(), "meeting_id": meetings[0]["id"]}, headers=admin)).json()
    agenda = (await client.get(f"/api/v1/meetings/{meetings[1]['id']}/agenda", headers=admin)).json()
    order = [(i["section"], i["kind"], i["id"]) for i in agenda["items"]]
    assert order == [("attention", "goal", other["id"]), ("overdue_actions", "action", late["id"]), ("rest", "goal", goal["id"])]
    assert agenda["items"][0]["reasons"] == ["judged amber/red"]
    assert agenda["data_status_known"] is False  # metrics-api is not reachable in this test


async def test_pack_shows_each_goal_and_names_what_metrics_could_not_give(client, admin, goal, meetings):
    pack = (await client.get(f"/api/v1/meetings/{meetings[0]['id']}/pack", headers=admin)).json()
    assert pack["frozen"] is False
    section = pack["goals"][0]
    assert section["goal"]["id"] == goal["id"]
    assert section["numbers"]["expected_trajectory"] == [
        {"period": "2024-25", "expected": 80.0}, {"period": "2025-26", "expected": 83.0}, {"period": "2026-27", "expected": 86.0}, {"period": "2027-28", "expected": 89.0}
    ]
    assert {u["part"] for u in pack["unavailable"]} >= {"target", "equity_gaps"}
    assert all("metrics-api" in u["reason"] for u in pack["unavailable"])


async def test_a_published_pack_is_frozen(client, admin, goal, meetings, session):
    meeting_id = meetings[0]["id"]
    published = await client.post(f"/api/v1/meetings/{meeting_id}/pack/publish", headers=admin)
    assert published.status_code == 201, published.text
    frozen = published.json()
    assert frozen["frozen"] is True and frozen["goals"][0]["last_judgment"] is None
    # New facts arrive after publication: a judgment, an action, a changed goal.
    await client.post(f"/api/v1/goals/{goal['id']}/judgments", json={"rating": "red", "rationale": "New data is worse"}, headers=admin)
    await client.post("/api/v1/actions", json={"title": "New", "owner": "test:x", "due_date": "2030-01-01", "goal_id": goal["id"]}, headers=admin)
    await client.patch(f"/api/v1/goals/{goal['id']}", json={"title": "Renamed"}, headers=admin)
    again = (await client.get(f"/api/v1/meetings/{meeting_id}/pack", headers=admin)).json()
    assert again == frozen
    assert (await client.post(f"/api/v1/meetings/{meeting_id}/pack/publish", headers=admin)).status_code == 409
    live = (await client.get(f"/api/v1/meetings/{meetings[1]['id']}/pack", headers=admin)).json()
    assert live["frozen"] is False and live["goals"][0]["last_judgment"]["rating"] == "red"
    assert (await session.scalar(select(OutboxEvent.type).where(OutboxEvent.type == "pack.published"))) == "pack.published"
    listed = (await client.get(f"/api/v1/routines/{meetings[0]['routine_id']}/meetings", headers=admin)).json()["items"]
    assert listed[0]["pack_published_at"] is not None and listed[1]["pack_published_at"] is None


async def test_memo_as_markdown_and_html(client, admin, goal, make_token, auth, district):
    body = {"title": "Monthly memo", "kind": "memo", "goal_ids": [goal["id"]], "rrule": "FREQ=MONTHLY;COUNT=2", "starts_at": "2026-10-01T08:00:00", "timezone": "America/Chicago"}
    memo_routine = (await client.post("/api/v1/routines", json=body, headers=admin)).json()
    memo_meeting = (await client.get(f"/api/v1/routines/{memo_routine['id']}/meetings", headers=admin)).json()["items"][0]
    await client.post(f"/api/v1/goals/{goal['id']}/judgments", json={"rating": "amber_green", "rationale": "Coaches <b>hired</b>"}, headers=admin)
    markdown = await client.get(f"/api/v1/meetings/{memo_meeting['id']}/memo", headers=admin)
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    text = markdown.text
    assert text.startswith("# Monthly memo: progress note")
    assert "(no earlier stocktake)" in text
    assert "## Raise the four-year graduation rate" in text and "**amber/green**" in text
    html = await client.get(f"/api/v1/meetings/{memo_meeting['id']}/memo", params={"format": "html"}, headers=admin)
    assert html.headers["content-type"].startswith("text/html")
    assert "<h2>Raise the four-year graduation rate</h2>" in html.text and "<strong>amber/green</strong>" in html.text
    assert "<b>hired</b>" not in html.text  # text from people is not passed through as HTML


async def test_memo_counts_from_the_last_stocktake(client, admin, goal, routine, meetings):
    body = {"title": "Memo", "kind": "memo", "goal_ids": [goal["id"]], "rrule": "FREQ=MONTHLY;COUNT=1", "starts_at": "2026-10-20T08:00:00", "timezone": "America/Chicago"}
    memo_routine = (await client.post("/api/v1/routines", json=body, headers=admin)).json()
    memo_meeting = (await client.get(f"/api/v1/routines/{memo_routine['id']}/meetings", headers=admin)).json()["items"][0]
    text = (await client.get(f"/api/v1/meetings/{memo_meeting['id']}/memo", headers=admin)).text
    assert "Since the last stocktake on 15 September 2026." in text


async def test_notes_and_decisions(client, admin, goal, meetings):
    meeting_id = meetings[0]["id"]
    noted = await client.patch(f"/api/v1/meetings/{meeting_id}", json={"notes": "Attendance is the lead indicator."}, headers=admin)
    assert noted.json()["notes"] == "Attendance is the lead indicator." and noted.json()["status"] == "scheduled"
    decision = await client.post(f"/api/v1/meetings/{meeting_id}/decisions", json={"text": "Fund two coaches", "goal_id": goal["id"]}, headers=admin)
    assert decision.status_code == 201
    listed = (await client.get(f"/api/v1/meetings/{meeting_id}/decisions", headers=admin)).json()["items"]
    assert [d["text"] for d in listed] == ["Fund two coaches"]


async def test_follow_through_numbers(client, admin, routine, meetings, session):
    # Put the first two meetings in the past, as if the routine had run for a while.
    past = [m["id"] for m in meetings[:2]]
    await session.execute(
        update(Meeting).where(Meeting.id.in_(past)).values(original_start=Meeting.original_start - timedelta(days=800), starts_at=Meeting.starts_at - timedelta(days=800), ends_at=Meeting.ends_at - timedelta(days=800))
    )
    await client.post(f"/api/v1/meetings/{past[0]}/held", headers=admin)
    done = (await client.post("/api/v1/actions", json={"title": "Done", "owner": "test:x", "due_date": (date.today() + timedelta(days=5)).isoformat(), "meeting_id": past[0]}, headers=admin)).json()
    await client.post(f"/api/v1/actions/{done['id']}/status", json={"status": "done"}, headers=admin)
    await client.post("/api/v1/actions", json={"title": "Late", "owner": "test:x", "due_date": (date.today() - timedelta(days=2)).isoformat(), "meeting_id": past[0]}, headers=admin)
    numbers = (await client.get(f"/api/v1/routines/{routine['id']}/follow-through", headers=admin)).json()
    assert numbers["meetings_due"] == 2 and numbers["meetings_held_as_scheduled"] == 1 and numbers["held_as_scheduled_rate"] == 0.5
    assert numbers["packs_published_before_meeting"] == 0
    assert numbers["actions_due"] == 2 and numbers["actions_done_on_time"] == 1 and numbers["actions_open_overdue"] == 1
