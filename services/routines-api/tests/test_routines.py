"""Routines: meetings from the RRULE across daylight saving, one occurrence moved or cancelled,
and valid iCalendar for the routine and for a person's secret feed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar

CHICAGO = ZoneInfo("America/Chicago")


def _events(body: bytes) -> list:
    return [c for c in Calendar.from_ical(body).walk() if c.name == "VEVENT"]


async def test_a_bimonthly_stocktake_has_six_meetings_at_nine_in_chicago_across_dst(routine, meetings):
    assert routine["meeting_count"] == 6
    assert [m["sequence"] for m in meetings] == [1, 2, 3, 4, 5, 6]
    local = [datetime.fromisoformat(m["starts_at"]).astimezone(CHICAGO) for m in meetings]
    assert [(d.year, d.month, d.day) for d in local] == [(2026, 9, 15), (2026, 11, 15), (2027, 1, 15), (2027, 3, 15), (2027, 5, 15), (2027, 7, 15)]
    assert all((d.hour, d.minute) == (9, 0) for d in local)
    # The UTC instant moves with daylight saving: 14:00Z in CDT, 15:00Z in CST.
    utc_hours = [datetime.fromisoformat(m["starts_at"]).astimezone(ZoneInfo("UTC")).hour for m in meetings]
    assert utc_hours == [14, 15, 15, 14, 14, 14]
    assert meetings[1]["local_start"].endswith("-06:00") and meetings[0]["local_start"].endswith("-05:00")


async def test_weekly_routine_keeps_wall_time_over_the_spring_change(client, admin):
    body = {"title": "Check-in", "kind": "check_in", "rrule": "FREQ=WEEKLY;COUNT=3", "starts_at": "2027-03-07T08:30:00", "timezone": "America/Chicago", "duration_minutes": 30}
    routine = (await client.post("/api/v1/routines", json=body, headers=admin)).json()
    meetings = (await client.get(f"/api/v1/routines/{routine['id']}/meetings", headers=admin)).json()["items"]
    assert [m["local_start"] for m in meetings] == ["2027-03-07T08:30:00-06:00", "2027-03-14T08:30:00-05:00", "2027-03-21T08:30:00-05:00"]


async def test_invalid_rules_and_zones_are_refused(client, admin):
    base = {"title": "x", "kind": "stocktake", "starts_at": "2026-09-15T09:00:00", "timezone": "America/Chicago"}
    assert (await client.post("/api/v1/routines", json={**base, "rrule": "FREQ=SOMETIMES"}, headers=admin)).status_code == 422
    bad_zone = await client.post("/api/v1/routines", json={**base, "rrule": "FREQ=DAILY;COUNT=2", "timezone": "Mars/Olympus"}, headers=admin)
    assert bad_zone.status_code == 422 and bad_zone.json()["field"] == "timezone"


async def test_moving_one_occurrence_leaves_the_others(client, admin, meetings):
    second = meetings[1]
    moved = await client.patch(f"/api/v1/meetings/{second['id']}", json={"starts_at": "2026-11-17T13:00:00"}, headers=admin)
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "moved" and moved.json()["moved"] is True
    assert moved.json()["local_start"] == "2026-11-17T13:00:00-06:00"
    assert moved.json()["original_start"] == second["original_start"]
    after = (await client.get(f"/api/v1/routines/{second['routine_id']}/meetings", headers=admin)).json()["items"]
    unchanged = [m for m in after if m["id"] != second["id"]]
    assert [m["starts_at"] for m in unchanged] == [m["starts_at"] for m in meetings if m["id"] != second["id"]]
    assert all(m["status"] == "scheduled" for m in unchanged)


async def test_cancelling_one_occurrence(client, admin, meetings):
    third = meetings[2]
    cancelled = await client.post(f"/api/v1/meetings/{third['id']}/cancel", headers=admin)
    assert cancelled.json()["status"] == "cancelled"
    assert (await client.patch(f"/api/v1/meetings/{third['id']}", json={"starts_at": "2027-01-20T09:00:00"}, headers=admin)).status_code == 409
    assert (await client.post(f"/api/v1/meetings/{third['id']}/held", headers=admin)).status_code == 409


async def test_calendar_is_valid_icalendar_with_moved_and_cancelled_occurrences(client, admin, routine, meetings):
    await client.patch(f"/api/v1/meetings/{meetings[1]['id']}", json={"starts_at": "2026-11-17T13:00:00"}, headers=admin)
    await client.post(f"/api/v1/meetings/{meetings[2]['id']}/cancel", headers=admin)
    response = await client.get(f"/api/v1/routines/{routine['id']}/calendar.ics", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert any(c.name == "VTIMEZONE" and str(c["TZID"]) == "America/Chicago" for c in calendar.walk())
    events = {str(e["UID"]): e for e in _events(response.content)}
    assert len(events) == 6
    moved = events[f"{meetings[1]['id']}@k12perform"]
    assert moved.decoded("DTSTART") == datetime(2026, 11, 17, 13, 0, tzinfo=CHICAGO)
    assert int(moved["SEQUENCE"]) == 1
    assert moved["DTSTART"].params["TZID"] == "America/Chicago"
    assert str(events[f"{meetings[2]['id']}@k12perform"]["STATUS"]) == "CANCELLED"
    first = events[f"{meetings[0]['id']}@k12perform"]
    assert first.decoded("DTSTART") == datetime(2026, 9, 15, 9, 0, tzinfo=CHICAGO)
    assert first.decoded("DTEND") == datetime(2026, 9, 15, 10, 0, tzinfo=CHICAGO)


async def test_a_personal_feed_lists_the_meetings_of_the_routines_one_attends(client, make_token, auth, district, routine):
    principal = auth(make_token("leader", district_ids=[district.id], subject="test:principal"))
    created = await client.post("/api/v1/calendars/feed", headers=principal)
    assert created.status_code == 201, created.text
    url = created.json()["url"]
    feed = await client.get(url)  # no token: the secret URL is the credential
    assert feed.status_code == 200
    assert len(_events(feed.content)) == 6
    replaced = (await client.post("/api/v1/calendars/feed", headers=principal)).json()["url"]
    assert (await client.get(url)).status_code == 404
    assert (await client.get(replaced)).status_code == 200
    stranger = auth(make_token("leader", district_ids=[district.id], subject="test:stranger"))
    theirs = (await client.post("/api/v1/calendars/feed", headers=stranger)).json()["url"]
    assert _events((await client.get(theirs)).content) == []


async def test_another_district_sees_no_routine(client, outsider, routine, meetings):
    assert (await client.get(f"/api/v1/routines/{routine['id']}", headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/routines/{routine['id']}/calendar.ics", headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/meetings/{meetings[0]['id']}", headers=outsider)).status_code == 404
    assert (await client.post(f"/api/v1/meetings/{meetings[0]['id']}/cancel", headers=outsider)).status_code == 404
    assert (await client.get("/api/v1/meetings", headers=outsider)).json()["items"] == []


async def test_leaders_see_only_routines_of_their_schools(client, make_token, auth, district, org_factory, admin):
    mine, other = await org_factory("school", parent=district), await org_factory("school", parent=district)
    body = {"kind": "check_in", "rrule": "FREQ=WEEKLY;COUNT=1", "starts_at": "2026-09-01T09:00:00"}
    other_routine = (await client.post("/api/v1/routines", json={**body, "title": "Other school", "school_id": str(other.id)}, headers=admin)).json()
    leader = auth(make_token("leader", district_ids=[district.id], schools=[mine.id]))
    mine_routine = await client.post("/api/v1/routines", json={**body, "title": "My school", "school_id": str(mine.id)}, headers=leader)
    assert mine_routine.status_code == 201, mine_routine.text
    titles = {r["title"] for r in (await client.get("/api/v1/routines", headers=leader)).json()["items"]}
    assert "My school" in titles and "Other school" not in titles
    assert (await client.get(f"/api/v1/routines/{other_routine['id']}", headers=leader)).status_code == 404
    refused = await client.post("/api/v1/routines", json={**body, "title": "Not mine", "school_id": str(other.id)}, headers=leader)
    assert refused.status_code == 404
