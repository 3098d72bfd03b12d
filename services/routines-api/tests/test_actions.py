"""Action items: every status change kept with who and when; overdue, owner and goal filters;
the caller's own first; open actions carried onto the next meeting's agenda."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from k12shared.models import OutboxEvent


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


async def _action(client, headers, **fields):
    response = await client.post("/api/v1/actions", json={"title": "Call every family of an off-track senior", "owner": "test:counselor", "due_date": _days(10), **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_every_status_change_is_kept_with_who_and_when(client, admin, make_token, auth, district, goal):
    action = await _action(client, admin, goal_id=goal["id"])
    assert action["status"] == "open" and action["school_id"] is None
    counselor = auth(make_token("leader", district_ids=[district.id], subject="test:counselor"))
    for status in ("in_progress", "done"):
        response = await client.post(f"/api/v1/actions/{action['id']}/status", json={"status": status, "note": f"now {status}"}, headers=counselor)
        assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "done" and body["completed_at"]
    assert [(h["from_status"], h["to_status"], h["changed_by"]) for h in body["history"]] == [
        (None, "open", "test:admin"),
        ("open", "in_progress", "test:counselor"),
        ("in_progress", "done", "test:counselor"),
    ]
    assert all(h["changed_at"] for h in body["history"])
    reopened = await client.post(f"/api/v1/actions/{action['id']}/status", json={"status": "open"}, headers=admin)
    assert reopened.json()["completed_at"] is None
    dropped = await client.post(f"/api/v1/actions/{action['id']}/status", json={"status": "dropped", "note": "superseded"}, headers=admin)
    assert dropped.json()["status"] == "dropped"
    assert len(dropped.json()["history"]) == 5


async def test_a_dropped_action_cannot_be_done_without_reopening(client, admin):
    action = await _action(client, admin)
    await client.post(f"/api/v1/actions/{action['id']}/status", json={"status": "dropped"}, headers=admin)
    response = await client.post(f"/api/v1/actions/{action['id']}/status", json={"status": "done"}, headers=admin)
    assert response.status_code == 409
    assert response.json()["from_status"] == "dropped"


async def test_an_action_due_three_days_ago_is_overdue_and_reported(client, admin, session):
    late = await _action(client, admin, title="Send the attendance letters", due_date=_days(-3))
    on_time = await _action(client, admin, title="Plan the summer bridge", due_date=_days(20))
    assert late["overdue"] is True and on_time["overdue"] is False
    overdue = (await client.get("/api/v1/actions", params={"overdue": "true"}, headers=admin)).json()["items"]
    assert [a["id"] for a in overdue] == [late["id"]]
    not_overdue = (await client.get("/api/v1/actions", params={"overdue": "false"}, headers=admin)).json()["items"]
    assert [a["id"] for a in not_overdue] == [on_time["id"]]
    # Written in the same transaction as the action, each with its dispatch job.
    events = list(await session.execute(select(OutboxEvent.type, OutboxEvent.data).where(OutboxEvent.type.in_(["action.created", "action.overdue"]))))
    assert sorted(t for t, d in events if d["id"] == late["id"]) == ["action.created", "action.overdue"]
    assert [t for t, d in events if d["id"] == on_time["id"]] == ["action.created"]


async def test_filters_by_owner_goal_and_meeting(client, admin, goal, meetings):
    mine = await _action(client, admin, owner="test:admin", goal_id=goal["id"], meeting_id=meetings[0]["id"])
    theirs = await _action(client, admin, owner="test:someone")
    by_owner = (await client.get("/api/v1/actions", params={"owner": "me"}, headers=admin)).json()["items"]
    assert [a["id"] for a in by_owner] == [mine["id"]]
    by_goal = (await client.get("/api/v1/actions", params={"goal": goal["id"]}, headers=admin)).json()["items"]
    assert [a["id"] for a in by_goal] == [mine["id"]]
    by_meeting = (await client.get("/api/v1/actions", params={"meeting_id": meetings[0]["id"]}, headers=admin)).json()["items"]
    assert [a["id"] for a in by_meeting] == [mine["id"]]
    assert theirs["id"] not in [a["id"] for a in by_meeting]


async def test_the_callers_own_actions_come_first(client, admin, make_token, auth, district):
    await _action(client, admin, owner="test:someone", due_date=_days(1))
    own = await _action(client, admin, owner="test:lead", due_date=_days(30))
    lead = auth(make_token("leader", district_ids=[district.id], subject="test:lead"))
    items = (await client.get("/api/v1/actions", headers=lead)).json()["items"]
    assert items[0]["id"] == own["id"]
    first_page = (await client.get("/api/v1/actions", params={"limit": 1}, headers=lead)).json()
    second_page = (await client.get("/api/v1/actions", params={"limit": 1, "cursor": first_page["next_cursor"]}, headers=lead)).json()
    assert first_page["items"][0]["id"] == own["id"] and second_page["items"][0]["owner"] == "test:someone"


async def test_open_actions_are_carried_onto_the_next_agenda_until_done(client, admin, meetings):
    first, second, third = meetings[0], meetings[1], meetings[2]
    late = await _action(client, admin, title="Fix the transcript audit", due_date=_days(-3), meeting_id=first["id"])
    later = await _action(client, admin, title="Hire two graduation coaches", due_date=_days(40), meeting_id=first["id"])
    agenda = (await client.get(f"/api/v1/meetings/{second['id']}/agenda", headers=admin)).json()["items"]
    by_id = {i["id"]: i for i in agenda}
    assert by_id[late["id"]]["section"] == "overdue_actions" and by_id[late["id"]]["overdue"] is True
    assert by_id[later["id"]]["section"] == "rest"
    assert by_id[late["id"]]["carried_from_meeting_id"] == first["id"]
    first_agenda = (await client.get(f"/api/v1/meetings/{first['id']}/agenda", headers=admin)).json()["items"]
    assert late["id"] not in {i["id"] for i in first_agenda}  # agreed there, not carried into it
    await client.post(f"/api/v1/actions/{late['id']}/status", json={"status": "done"}, headers=admin)
    next_agenda = (await client.get(f"/api/v1/meetings/{third['id']}/agenda", headers=admin)).json()["items"]
    assert late["id"] not in {i["id"] for i in next_agenda} and later["id"] in {i["id"] for i in next_agenda}


async def test_another_district_cannot_touch_an_action(client, admin, outsider):
    action = await _action(client, admin)
    assert (await client.get(f"/api/v1/actions/{action['id']}", headers=outsider)).status_code == 404
    assert (await client.post(f"/api/v1/actions/{action['id']}/status", json={"status": "done"}, headers=outsider)).status_code == 404
    assert (await client.patch(f"/api/v1/actions/{action['id']}", json={"title": "x"}, headers=outsider)).status_code == 404
    assert (await client.get("/api/v1/actions", headers=outsider)).json()["items"] == []


async def test_a_leader_sees_actions_of_their_schools_and_their_own(client, admin, make_token, auth, district, org_factory):
    mine, other = await org_factory("school", parent=district), await org_factory("school", parent=district)
    at_mine = await _action(client, admin, school_id=str(mine.id))
    at_other = await _action(client, admin, school_id=str(other.id))
    owned_elsewhere = await _action(client, admin, school_id=str(other.id), owner="test:lead2")
    leader = auth(make_token("leader", district_ids=[district.id], schools=[mine.id], subject="test:lead2"))
    seen = {a["id"] for a in (await client.get("/api/v1/actions", headers=leader)).json()["items"]}
    assert at_mine["id"] in seen and owned_elsewhere["id"] in seen and at_other["id"] not in seen
    assert (await client.get(f"/api/v1/actions/{at_other['id']}", headers=leader)).status_code == 404


async def test_reminder_scan_sends_due_soon_and_overdue_once(client, admin, session, settings):
    from k12_routines import reminders
    from k12shared.models import ActionItem

    soon = await _action(client, admin, due_date=_days(1))
    late = await _action(client, admin, due_date=_days(5))
    # Time passes: the second action's date is now in the past, and nothing was sent for it yet.
    from k12_routines.routines.service import district_today

    row = await session.get(ActionItem, __import__("uuid").UUID(late["id"]))
    # "Overdue" is judged on the district's calendar, which may still be yesterday in UTC terms.
    row.due_date, row.due_soon_notified_at = await district_today(session, row.district_id) - timedelta(days=1), None
    await session.flush()
    first = await reminders.scan(session, settings)
    second = await reminders.scan(session, settings)
    assert first["action.overdue"] >= 1 and second == {"action.overdue": 0, "action.due_soon": 0}
    types = [t for t, d in await session.execute(select(OutboxEvent.type, OutboxEvent.data)) if d.get("id") in (soon["id"], late["id"])]
    assert types.count("action.due_soon") == 1 and types.count("action.overdue") == 1


async def test_an_owner_who_is_a_platform_user_is_shown_by_name(client, admin, session, goal):
    from k12shared.models import User

    session.add(User(subject="test:principal-okafor", display_name="Principal Okafor", email="okafor@district.example.org"))
    await session.flush()
    named = await _action(client, admin, owner="test:principal-okafor", goal_id=goal["id"], due_date=_days(-1))
    free_text = await _action(client, admin, owner="the counseling team", goal_id=goal["id"])
    assert (named["owner"], named["owner_name"]) == ("test:principal-okafor", "Principal Okafor")
    assert free_text["owner_name"] is None
    listed = {a["id"]: a["owner_name"] for a in (await client.get("/api/v1/actions", params={"goal": goal["id"]}, headers=admin)).json()["items"]}
    assert listed == {named["id"]: "Principal Okafor", free_text["id"]: None}
