"""Routines and their meetings: generation from the RRULE, moving and cancelling one occurrence,
follow-through numbers, calendar feeds."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import any_, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth import Principal
from k12shared.errors import Conflict, NotFound
from k12shared.models import ActionItem, CalendarFeed, Goal, Meeting, MeetingPack, Organization, Routine
from k12_routines.access import require_school, resolve_district
from k12_routines.events import emit
from k12_routines.routines import recurrence
from k12_routines.routines.schemas import FollowThrough, MeetingOut, MeetingPatch, RoutineIn, RoutineOut
from k12_routines.store import save

DEFAULT_TIMEZONE = "America/Chicago"


async def district_timezone(session: AsyncSession, district_id: uuid.UUID) -> str:
    return (await session.scalar(select(Organization.timezone).where(Organization.id == district_id))) or DEFAULT_TIMEZONE


async def district_today(session: AsyncSession, district_id: uuid.UUID) -> date:
    """Today where the district is: an action due today is not overdue until the day is over there."""
    return datetime.now(recurrence.zone(await district_timezone(session, district_id))).date()


async def check_goals(session: AsyncSession, district_id: uuid.UUID, goal_ids: list[uuid.UUID]) -> None:
    if not goal_ids:
        return
    found = set(await session.scalars(select(Goal.id).where(Goal.id.in_(goal_ids), Goal.district_id == district_id)))
    missing = [str(g) for g in goal_ids if g not in found]
    if missing:
        raise NotFound(f"Goals not found: {', '.join(missing)}", field="goal_ids")


async def create_routine(session: AsyncSession, principal: Principal, data: RoutineIn) -> tuple[Routine, list[Meeting]]:
    district_id = resolve_district(principal, data.district_id)
    require_school(principal, data.school_id)
    if data.school_id is not None:
        school = await session.get(Organization, data.school_id)
        if school is None or school.district_id != district_id:
            raise NotFound("School not found", field="school_id")
    await check_goals(session, district_id, data.goal_ids)
    timezone = data.timezone or await district_timezone(session, district_id)
    starts = recurrence.occurrences(data.rrule, data.starts_at, timezone)
    routine = await save(
        session,
        Routine(
            id=uuid.uuid4(),
            district_id=district_id,
            school_id=data.school_id,
            title=data.title,
            kind=data.kind,
            rrule=data.rrule.removeprefix("RRULE:"),
            starts_at=starts[0],
            timezone=timezone,
            duration_minutes=data.duration_minutes,
            chair=data.chair or principal.subject,
            participants=list(dict.fromkeys(data.participants)),
            goal_ids=list(dict.fromkeys(data.goal_ids)),
            created_by=principal.subject,
        ),
    )
    meetings = await generate_meetings(session, routine, starts)
    return routine, meetings


async def generate_meetings(session: AsyncSession, routine: Routine, starts: list[datetime]) -> list[Meeting]:
    duration = timedelta(minutes=routine.duration_minutes)
    meetings = []
    for number, start in enumerate(starts, start=1):
        meeting = Meeting(
            id=uuid.uuid4(),
            district_id=routine.district_id,
            routine_id=routine.id,
            sequence=number,
            original_start=start,
            starts_at=start,
            ends_at=start + duration,
        )
        session.add(meeting)
        meetings.append(meeting)
    await session.flush()
    for meeting in meetings:
        await session.refresh(meeting)
        await emit(session, routine.district_id, "meeting.scheduled", scheduled_event(routine, meeting))
    return meetings


def scheduled_event(routine: Routine, meeting: Meeting) -> dict[str, Any]:
    return {
        "meeting_id": meeting.id,
        "routine_id": routine.id,
        "routine_title": routine.title,
        "kind": routine.kind,
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
        "moved": meeting.moved,
        "chair": routine.chair,
        "participants": routine.participants,
    }


def routine_out(routine: Routine, meeting_count: int) -> RoutineOut:
    return RoutineOut(
        id=routine.id,
        district_id=routine.district_id,
        school_id=routine.school_id,
        title=routine.title,
        kind=routine.kind,  # type: ignore[arg-type]
        goal_ids=routine.goal_ids,
        chair=routine.chair,
        participants=routine.participants,
        rrule=routine.rrule,
        starts_at=routine.starts_at,
        timezone=routine.timezone,
        duration_minutes=routine.duration_minutes,
        meeting_count=meeting_count,
        calendar_url=f"/api/v1/routines/{routine.id}/calendar.ics",
        created_at=routine.created_at,
    )


async def meeting_count(session: AsyncSession, routine_id: uuid.UUID) -> int:
    return await session.scalar(select(func.count()).select_from(Meeting).where(Meeting.routine_id == routine_id)) or 0


def meeting_out(meeting: Meeting, routine: Routine, pack_published_at: datetime | None = None) -> MeetingOut:
    tz = recurrence.zone(routine.timezone)
    return MeetingOut(
        id=meeting.id,
        routine_id=routine.id,
        district_id=meeting.district_id,
        routine_title=routine.title,
        kind=routine.kind,  # type: ignore[arg-type]
        sequence=meeting.sequence,
        original_start=meeting.original_start,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        local_start=meeting.starts_at.astimezone(tz).isoformat(),
        timezone=routine.timezone,
        status=meeting.status,  # type: ignore[arg-type]
        moved=meeting.moved,
        held_at=meeting.held_at,
        notes=meeting.notes,
        pack_published_at=pack_published_at,
    )


async def pack_times(session: AsyncSession, meeting_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    if not meeting_ids:
        return {}
    rows = await session.execute(select(MeetingPack.meeting_id, MeetingPack.published_at).where(MeetingPack.meeting_id.in_(meeting_ids)))
    return dict(rows.all())


async def change_meeting(session: AsyncSession, routine: Routine, meeting: Meeting, data: MeetingPatch) -> Meeting:
    changes = data.model_dump(exclude_unset=True)
    if meeting.status == "cancelled" and ("starts_at" in changes or "duration_minutes" in changes):
        raise Conflict("A cancelled meeting cannot be moved")
    duration = timedelta(minutes=changes.get("duration_minutes") or int((meeting.ends_at - meeting.starts_at).total_seconds() // 60))
    rescheduled = False
    if data.starts_at is not None:
        start = recurrence.normalize(recurrence.local_start(data.starts_at, recurrence.zone(routine.timezone)))
        if start != meeting.starts_at:
            meeting.starts_at, meeting.moved, rescheduled = start, True, True
            if meeting.status == "scheduled":
                meeting.status = "moved"
    if "starts_at" in changes or "duration_minutes" in changes:
        ends = meeting.starts_at + duration
        rescheduled = rescheduled or ends != meeting.ends_at
        meeting.ends_at = ends
    if rescheduled:
        meeting.revision += 1
    if "notes" in changes:
        meeting.notes = data.notes
    meeting = await save(session, meeting)
    if rescheduled:
        await emit(session, meeting.district_id, "meeting.scheduled", scheduled_event(routine, meeting))
    return meeting


async def cancel_meeting(session: AsyncSession, meeting: Meeting) -> Meeting:
    if meeting.status == "held":
        raise Conflict("A meeting that was held cannot be cancelled")
    if meeting.status != "cancelled":
        meeting.status, meeting.revision = "cancelled", meeting.revision + 1
    return await save(session, meeting)


async def mark_held(session: AsyncSession, meeting: Meeting) -> Meeting:
    if meeting.status == "cancelled":
        raise Conflict("A cancelled meeting cannot be held; move it instead")
    if meeting.status != "held":
        meeting.status, meeting.held_at = "held", datetime.now(UTC)
    return await save(session, meeting)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def follow_through(session: AsyncSession, routine: Routine) -> FollowThrough:
    now = datetime.now(UTC)
    today = await district_today(session, routine.district_id)
    meetings = list(await session.scalars(select(Meeting).where(Meeting.routine_id == routine.id, Meeting.original_start <= now)))
    packs = await pack_times(session, [m.id for m in meetings])
    held = sum(1 for m in meetings if m.status == "held" and not m.moved)
    packs_on_time = sum(1 for m in meetings if m.id in packs and packs[m.id] <= m.starts_at)
    all_meeting_ids = select(Meeting.id).where(Meeting.routine_id == routine.id)
    actions = list(await session.scalars(select(ActionItem).where(ActionItem.meeting_id.in_(all_meeting_ids))))
    tz = recurrence.zone(routine.timezone)
    due = [a for a in actions if a.due_date < today or a.status == "done"]
    on_time = [a for a in due if a.status == "done" and a.completed_at is not None and a.completed_at.astimezone(tz).date() <= a.due_date]
    overdue = [a for a in actions if a.status in ("open", "in_progress") and a.due_date < today]
    return FollowThrough(
        routine_id=routine.id,
        meetings_due=len(meetings),
        meetings_held_as_scheduled=held,
        held_as_scheduled_rate=_rate(held, len(meetings)),
        packs_published_before_meeting=packs_on_time,
        packs_on_time_rate=_rate(packs_on_time, len(meetings)),
        actions_due=len(due),
        actions_done_on_time=len(on_time),
        actions_on_time_rate=_rate(len(on_time), len(due)),
        actions_open_overdue=len(overdue),
    )


def feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_feed(session: AsyncSession, district_id: uuid.UUID, subject: str) -> str:
    """A new secret feed token for this person (the previous URL stops working)."""
    token = secrets.token_urlsafe(32)
    await session.execute(
        insert(CalendarFeed)
        .values(district_id=district_id, subject=subject, token_hash=feed_token_hash(token))
        .on_conflict_do_update(index_elements=[CalendarFeed.district_id, CalendarFeed.subject], set_={"token_hash": feed_token_hash(token)})
    )
    return token


async def person_meetings(session: AsyncSession, token: str) -> tuple[CalendarFeed, list[tuple[Routine, Meeting]]]:
    feed = await session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == feed_token_hash(token)))
    if feed is None:
        raise NotFound("Calendar feed not found")
    involved = (Routine.chair == feed.subject) | (literal(feed.subject) == any_(Routine.participants))
    rows = await session.execute(
        select(Routine, Meeting)
        .join(Meeting, Meeting.routine_id == Routine.id)
        .where(Routine.district_id == feed.district_id, involved)
        .order_by(Meeting.starts_at, Meeting.id)
    )
    return feed, [(r, m) for r, m in rows.all()]
