from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlalchemy import select

from k12shared.auth import RoutinesReader, RoutinesWriter
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import Meeting, Routine
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_routines.access import get_visible, resolve_district, school_condition
from k12_routines.routines import calendar, service
from k12_routines.routines.schemas import CalendarFeedOut, FollowThrough, MeetingOut, RoutineIn, RoutineOut, RoutinePatch
from k12_routines.store import record, save

router = APIRouter(tags=["routines"], responses=PROBLEM_RESPONSES)
DistrictParam = Annotated[uuid.UUID | None, Query(description="For callers of several districts")]
ICS = "text/calendar; charset=utf-8"


@router.post("/api/v1/routines", operation_id="createRoutine", status_code=status.HTTP_201_CREATED, summary="Create a routine; its meetings are generated from the RRULE")
async def create_routine(data: RoutineIn, session: SessionDep, principal: RoutinesWriter, request: Request) -> RoutineOut:
    routine, meetings = await service.create_routine(session, principal, data)
    await record(session, request, principal, "create", "routine", routine)
    return service.routine_out(routine, len(meetings))


@router.get("/api/v1/routines", operation_id="listRoutines", summary="A district's routines")
async def list_routines(
    session: SessionDep,
    principal: RoutinesReader,
    district: DistrictParam = None,
    kind: Annotated[str | None, Query(max_length=24)] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[RoutineOut]:
    stmt = select(Routine).where(Routine.district_id == resolve_district(principal, district))
    if kind:
        stmt = stmt.where(Routine.kind == kind)
    condition = school_condition(principal, Routine.school_id)
    if condition is not None:
        stmt = stmt.where(condition)
    rows, next_cursor = await paginate(session, stmt, [Routine.id], cursor=cursor, limit=limit)
    return Page(items=[service.routine_out(r, await service.meeting_count(session, r.id)) for r in rows], next_cursor=next_cursor)


@router.get("/api/v1/routines/{routine_id}", operation_id="getRoutine", summary="One routine")
async def get_routine(routine_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> RoutineOut:
    routine = await get_visible(session, Routine, routine_id, principal, "Routine")
    return service.routine_out(routine, await service.meeting_count(session, routine.id))


@router.patch("/api/v1/routines/{routine_id}", operation_id="updateRoutine", summary="Change a routine's title, goals, chair or participants")
async def update_routine(routine_id: uuid.UUID, data: RoutinePatch, session: SessionDep, principal: RoutinesWriter, request: Request) -> RoutineOut:
    routine = await get_visible(session, Routine, routine_id, principal, "Routine")
    changes = data.model_dump(exclude_unset=True)
    if "goal_ids" in changes:
        await service.check_goals(session, routine.district_id, changes["goal_ids"])
    for key, value in changes.items():
        setattr(routine, key, value)
    routine = await save(session, routine)
    await record(session, request, principal, "update", "routine", routine)
    return service.routine_out(routine, await service.meeting_count(session, routine.id))


@router.get("/api/v1/routines/{routine_id}/meetings", operation_id="listRoutineMeetings", summary="The routine's meetings (its occurrences), in order")
async def list_routine_meetings(routine_id: uuid.UUID, session: SessionDep, principal: RoutinesReader, cursor: CursorParam = None, limit: LimitParam = 100) -> Page[MeetingOut]:
    routine = await get_visible(session, Routine, routine_id, principal, "Routine")
    stmt = select(Meeting).where(Meeting.routine_id == routine.id)
    rows, next_cursor = await paginate(session, stmt, [Meeting.sequence], cursor=cursor, limit=limit)
    packs = await service.pack_times(session, [m.id for m in rows])
    return Page(items=[service.meeting_out(m, routine, packs.get(m.id)) for m in rows], next_cursor=next_cursor)


@router.get(
    "/api/v1/routines/{routine_id}/calendar.ics",
    operation_id="getRoutineCalendar",
    summary="The routine as iCalendar, moved and cancelled occurrences included",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def routine_calendar(routine_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> Response:
    routine = await get_visible(session, Routine, routine_id, principal, "Routine")
    meetings = await session.scalars(select(Meeting).where(Meeting.routine_id == routine.id).order_by(Meeting.sequence))
    body = calendar.render(routine.title, [(routine, m) for m in meetings])
    return Response(body, media_type=ICS, headers={"content-disposition": f'inline; filename="routine-{routine.id}.ics"'})


@router.get("/api/v1/routines/{routine_id}/follow-through", operation_id="getRoutineFollowThrough", summary="Meetings held as scheduled, packs published before the meeting, actions done on time")
async def routine_follow_through(routine_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> FollowThrough:
    routine = await get_visible(session, Routine, routine_id, principal, "Routine")
    return await service.follow_through(session, routine)


@router.post("/api/v1/calendars/feed", operation_id="createCalendarFeed", status_code=status.HTTP_201_CREATED, summary="A secret calendar URL with the caller's meetings (replaces any earlier one)")
async def create_calendar_feed(session: SessionDep, principal: RoutinesReader, request: Request, district: DistrictParam = None) -> CalendarFeedOut:
    district_id = resolve_district(principal, district)
    token = await service.issue_feed(session, district_id, principal.subject)
    from k12shared import audit

    await audit.record(session, request, principal, action="create", resource="calendar_feed", resource_id=principal.subject, district_id=district_id)
    return CalendarFeedOut(url=f"/api/v1/calendars/{token}.ics", subject=principal.subject)


@router.get(
    "/api/v1/calendars/{token}.ics",
    operation_id="getPersonalCalendar",
    summary="A person's meetings as iCalendar; the secret in the URL is the credential, for calendar apps",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def personal_calendar(token: Annotated[str, Path(max_length=100)], session: SessionDep) -> Response:
    feed, items = await service.person_meetings(session, token)
    body = calendar.render(f"K12 Perform: {feed.subject}", items)
    return Response(body, media_type=ICS, headers={"cache-control": "private, max-age=300"})

