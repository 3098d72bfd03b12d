"""iCalendar (RFC 5545) for routines, made with the icalendar library.

Each occurrence is its own VEVENT (one UID per meeting), so a moved meeting carries its new
time and a higher SEQUENCE, and a cancelled one stays in the feed with STATUS:CANCELLED.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from icalendar import Calendar, Event

from k12shared.models import Meeting, Routine
from k12_routines.routines.recurrence import zone

PRODID = "-//K12 Perform//Delivery routines//EN"


def new_calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    return calendar


def meeting_event(routine: Routine, meeting: Meeting) -> Event:
    tz = zone(routine.timezone)
    event = Event()
    event.add("uid", f"{meeting.id}@k12perform")
    event.add("dtstamp", (meeting.updated_at or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", meeting.starts_at.astimezone(tz))
    event.add("dtend", meeting.ends_at.astimezone(tz))
    event.add("summary", f"{routine.title} ({routine.kind.replace('_', ' ')})")
    event.add("sequence", meeting.revision)
    event.add("status", "CANCELLED" if meeting.status == "cancelled" else "CONFIRMED")
    description = f"Occurrence {meeting.sequence} of {routine.title}."
    if meeting.moved:
        description += f" Moved from {meeting.original_start.astimezone(tz).isoformat()}."
    event.add("description", description)
    return event


def render(name: str, items: Iterable[tuple[Routine, Meeting]]) -> bytes:
    calendar = new_calendar(name)
    for routine, meeting in items:
        calendar.add_component(meeting_event(routine, meeting))
    calendar.add_missing_timezones()
    return calendar.to_ical()
