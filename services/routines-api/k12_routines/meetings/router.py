from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from k12shared.auth import Principal, RoutinesReader, RoutinesWriter
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES, Conflict, NotFound
from k12shared.models import Goal, Meeting, MeetingDecision, MeetingPack, Routine
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_routines.access import can_see, get_visible, resolve_district, school_condition
from k12_routines.events import emit
from k12_routines.meetings import memo
from k12_routines.meetings.agenda import build_agenda
from k12_routines.meetings.pack import build_pack, routine_goals
from k12_routines.metrics_client import MetricsClient, data_status
from k12_routines.routines import service as routines

from k12_routines.routines.schemas import MeetingOut, MeetingPatch
from k12_routines.store import record, save

router = APIRouter(prefix="/api/v1/meetings", tags=["meetings"], responses=PROBLEM_RESPONSES)


class DecisionIn(BaseModel):
    text: str = Field(min_length=1, max_length=10000)
    goal_id: uuid.UUID | None = None


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    meeting_id: uuid.UUID
    text: str
    goal_id: uuid.UUID | None
    created_by: str
    created_at: datetime


async def visible_meeting(session, principal: Principal, meeting_id: uuid.UUID) -> tuple[Meeting, Routine]:
    meeting = await get_visible(session, Meeting, meeting_id, principal, "Meeting")
    routine = await session.get(Routine, meeting.routine_id)
    if routine is None or not can_see(principal, routine):
        raise NotFound("Meeting not found")
    return meeting, routine


def metrics_for(request: Request, principal: Principal) -> MetricsClient:
    return MetricsClient(request.app.state.services, principal.token)


async def _out(session, meeting: Meeting, routine: Routine) -> MeetingOut:
    packs = await routines.pack_times(session, [meeting.id])
    return routines.meeting_out(meeting, routine, packs.get(meeting.id))


@router.get("", operation_id="listMeetings", summary="A district's meetings by date")
async def list_meetings(
    session: SessionDep,
    principal: RoutinesReader,
    district: Annotated[uuid.UUID | None, Query(description="For callers of several districts")] = None,
    from_: Annotated[date | None, Query(alias="from", description="Meetings starting on or after this date (UTC)")] = None,
    to: Annotated[date | None, Query(description="Meetings starting before this date (UTC)")] = None,
    routine: uuid.UUID | None = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[MeetingOut]:
    district_id = resolve_district(principal, district)
    stmt = select(Meeting).join(Routine, Routine.id == Meeting.routine_id).where(Meeting.district_id == district_id)
    if from_:
        stmt = stmt.where(Meeting.starts_at >= datetime.combine(from_, time(), UTC))
    if to:
        stmt = stmt.where(Meeting.starts_at < datetime.combine(to, time(), UTC))
    if routine:
        stmt = stmt.where(Meeting.routine_id == routine)
    condition = school_condition(principal, Routine.school_id)
    if condition is not None:
        stmt = stmt.where(condition)
    rows, next_cursor = await paginate(session, stmt, [Meeting.starts_at, Meeting.id], cursor=cursor, limit=limit)
    routines_by_id = {r.id: r for r in await session.scalars(select(Routine).where(Routine.id.in_({m.routine_id for m in rows})))} if rows else {}
    packs = await routines.pack_times(session, [m.id for m in rows])
    return Page(items=[routines.meeting_out(m, routines_by_id[m.routine_id], packs.get(m.id)) for m in rows], next_cursor=next_cursor)


@router.get("/{meeting_id}", operation_id="getMeeting", summary="One meeting")
async def get_meeting(meeting_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> MeetingOut:
    meeting, routine = await visible_meeting(session, principal, meeting_id)
    return await _out(session, meeting, routine)


@router.patch("/{meeting_id}", operation_id="updateMeeting", summary="Move this one occurrence, change its length, or keep its notes")
async def update_meeting(meeting_id: uuid.UUID, data: MeetingPatch, session: SessionDep, principal: RoutinesWriter, request: Request) -> MeetingOut:
    meeting, routine = await visible_meeting(session, principal, meeting_id)
    meeting = await routines.change_meeting(session, routine, meeting, data)
    await record(session, request, principal, "update", "meeting", meeting)
    return await _out(session, meeting, routine)


@router.post("/{meeting_id}/cancel", operation_id="cancelMeeting", summary="Cancel this one occurrence (it stays in calendars as cancelled)")
async def cancel_meeting(meeting_id: uuid.UUID, session: SessionDep, principal: RoutinesWriter, request: Request) -> MeetingOut:
    meeting, routine = await visible_meeting(session, principal, meeting_id)
    meeting = await routines.cancel_meeting(session, meeting)
    await record(session, request, principal, "cancel", "meeting", meeting)
    return await _out(session, meeting, routine)


@router.post("/{meeting_id}/held", operation_id="markMeetingHeld", summary="Record that the meeting took place")
async def mark_held(meeting_id: uuid.UUID, session: SessionDep, principal: RoutinesWriter, request: Request) -> MeetingOut:
    meeting, routine = await visible_meeting(session, principal, meeting_id)
    meeting = await routines.mark_held(session, meeting)
    await record(session, request, principal, "held", "meeting", meeting)
    return await _out(session, meeting, routine)


async def live_statuses(session, routine: Routine, metrics: MetricsClient) -> dict[uuid.UUID, dict | None]:
    statuses: dict[uuid.UUID, dict | None] = {}
    for goal in await routine_goals(session, routine):
        fetched = await metrics.target(goal.target_id) if goal.target_id else None
        statuses[goal.id] = data_status(fetched.data) if fetched is not None and fetched.ok else None
    return statuses


@router.get("/{meeting_id}/agenda", operation_id="getMeetingAgenda", summary="Goals off trajectory or judged amber/red or red first, then overdue actions, then the rest")
async def get_agenda(meeting_id: uuid.UUID, session: SessionDep, principal: RoutinesReader, request: Request) -> dict[str, Any]:
    meeting, routine = await visible_meeting(session, principal, meeting_id)
    today = await routines.district_today(session, meeting.district_id)
    return await build_agenda(session, meeting, routine, today, await live_statuses(session, routine, metrics_for(request, principal)))


@router.get("/{meeting_id}/pack", operation_id="getMeetingPack", summary="The pre-read: live until published, then frozen")
async def get_pack(meeting_id: uuid.UUID, session: SessionDep, principal: RoutinesReader, request: Request) -> dict[str, Any]:
    meeting, routine = await visible_meeting(session, principal, meeting_id)
    stored = await session.get(MeetingPack, meeting.id)
    if stored is not None:
        return {**stored.content, "frozen": True, "published_at": stored.published_at.isoformat(), "published_by": stored.published_by}
    today = await routines.district_today(session, meeting.district_id)
    return {**await build_pack(session, meeting, routine, metrics_for(request, principal), today), "frozen": False, "published_at": None}


@router.post("/{meeting_id}/pack/publish", operation_id="publishMeetingPack", status_code=status.HTTP_201_CREATED, summary="Publish the pack: its numbers are frozen from now on")
async def publish_pack(meeting_id: uuid.UUID, session: SessionDep, principal: RoutinesWriter, request: Request) -> dict[str, Any]:
    meeting, routine = await visible_meeting(session, principal, meeting_id)
    if await session.get(MeetingPack, meeting.id) is not None:
        raise Conflict("This meeting's pack is already published; it does not change")
    today = await routines.district_today(session, meeting.district_id)
    content = await build_pack(session, meeting, routine, metrics_for(request, principal), today)
    pack = await save(session, MeetingPack(meeting_id=meeting.id, district_id=meeting.district_id, content=content, published_by=principal.subject))
    await emit(
        session,
        meeting.district_id,
        "pack.published",
        {"meeting_id": meeting.id, "routine_id": routine.id, "routine_title": routine.title, "starts_at": meeting.starts_at, "published_at": pack.published_at, "unavailable": content["unavailable"]},
    )
    await record(session, request, principal, "publish-pack", "meeting", meeting)
    return {**content, "frozen": True, "published_at": pack.published_at.isoformat(), "published_by": pack.published_by}


@router.get(
    "/{meeting_id}/memo",
    operation_id="getMeetingMemo",
    summary="A short progress note since the last stocktake, as Markdown or HTML",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
async def get_memo(
    meeting_id: uuid.UUID,
    session: SessionDep,
    principal: RoutinesReader,
    request: Request,
    format: Annotated[Literal["markdown", "html"] | None, Query(description="Else chosen by the Accept header")] = None,
) -> Response:
    meeting, routine = await visible_meeting(session, principal, meeting_id)
    today = await routines.district_today(session, meeting.district_id)
    markdown = await memo.memo_markdown(session, meeting, routine, metrics_for(request, principal), today)
    wants_html = format == "html" or (format is None and "text/html" in request.headers.get("accept", ""))
    if wants_html:
        return Response(memo.to_html(markdown, f"{routine.title}: progress note"), media_type="text/html; charset=utf-8")
    return Response(markdown, media_type="text/markdown; charset=utf-8")


@router.post("/{meeting_id}/decisions", operation_id="recordDecision", status_code=status.HTTP_201_CREATED, summary="Record a decision taken in the meeting")
async def record_decision(meeting_id: uuid.UUID, data: DecisionIn, session: SessionDep, principal: RoutinesWriter, request: Request) -> DecisionOut:
    meeting, _ = await visible_meeting(session, principal, meeting_id)
    if data.goal_id is not None:
        goal = await session.get(Goal, data.goal_id)
        if goal is None or goal.district_id != meeting.district_id:
            raise NotFound("Goal not found", field="goal_id")
    decision = await save(session, MeetingDecision(district_id=meeting.district_id, meeting_id=meeting.id, text=data.text, goal_id=data.goal_id, created_by=principal.subject))
    await record(session, request, principal, "create", "decision", decision)
    return DecisionOut.model_validate(decision)


@router.get("/{meeting_id}/decisions", operation_id="listDecisions", summary="The decisions of a meeting")
async def list_decisions(meeting_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> Page[DecisionOut]:
    meeting, _ = await visible_meeting(session, principal, meeting_id)
    rows = await session.scalars(select(MeetingDecision).where(MeetingDecision.meeting_id == meeting.id).order_by(MeetingDecision.created_at, MeetingDecision.id))
    return Page(items=[DecisionOut.model_validate(d) for d in rows])



