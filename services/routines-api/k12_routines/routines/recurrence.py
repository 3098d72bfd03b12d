"""A routine's occurrences from its RFC 5545 RRULE, in the routine's own time zone.

The rule is expanded on local wall time (dateutil with a zone-aware DTSTART), so a 9:00
stocktake stays at 9:00 in Chicago on both sides of a daylight-saving change; the UTC instant
moves instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from k12shared.errors import Unprocessable

MAX_OCCURRENCES = 100  # an open-ended rule is expanded this far (or to the horizon)
HORIZON = timedelta(days=2 * 366)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(f"Unknown time zone '{name}'", field="timezone") from None


def local_start(starts_at: datetime, tz: ZoneInfo) -> datetime:
    """A naive time is wall time in the routine's zone; an aware one is converted to it."""
    if starts_at.tzinfo is None:
        return starts_at.replace(tzinfo=tz)
    return starts_at.astimezone(tz)


def parse_rule(rule: str, dtstart: datetime) -> rrule:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or "DTSTART" in text.upper() or "\n" in text:
        raise Unprocessable("Give one RRULE such as FREQ=MONTHLY;INTERVAL=2;COUNT=6 (the start goes in starts_at)", field="rrule")
    try:
        parsed = rrulestr(text, dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        raise Unprocessable(f"Invalid RRULE: {exc}", field="rrule") from None
    if not isinstance(parsed, rrule):
        raise Unprocessable("Give a single RRULE", field="rrule")
    return parsed


def occurrences(rule: str, starts_at: datetime, timezone: str) -> list[datetime]:
    """The occurrences as aware datetimes in the routine's zone, first one first."""
    tz = zone(timezone)
    first = local_start(starts_at, tz)
    horizon = first + HORIZON
    found: list[datetime] = []
    for occurrence in parse_rule(rule, first):
        if len(found) >= MAX_OCCURRENCES or occurrence > horizon:
            break
        found.append(normalize(occurrence.replace(tzinfo=tz)))
    if not found:
        raise Unprocessable("The rule yields no occurrence", field="rrule")
    return found


def normalize(local: datetime) -> datetime:
    """A wall time skipped by a spring-forward change resolves to the instant just after it."""
    return local.astimezone(UTC).astimezone(local.tzinfo)
