from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from k12shared.auth import Principal, RoutinesReader, RoutinesWriter
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import ActionItem, Goal, Meeting
from k12shared.pagination import CursorParam, LimitParam, Page
from k12_routines.access import get_visible, resolve_district
from k12_routines.actions import service
from k12_routines.actions.schemas import ActionIn, ActionOut, ActionPatch, ActionStatus, StatusChangeIn
from k12_routines.people import display_names
from k12_routines.routines.service import district_today
from k12_routines.store import record, save

router = APIRouter(prefix="/api/v1/actions", tags=["actions"], responses=PROBLEM_RESPONSES)


async def _visible_action(session, principal: Principal, action_id: uuid.UUID) -> ActionItem:
    action = await session.get(ActionItem, action_id)
    # A school-scoped leader also reaches the actions they own.
    if action is not None and principal.can_access_district(action.district_id) and action.owner == principal.subject:
        return action
    return await get_visible(session, ActionItem, action_id, principal, "Action")


async def _answer(session, action: ActionItem, today: date | None = None) -> ActionOut:
    """One action as answered: overdue on the district's calendar, with its history and its owner's name."""
    today = today or await district_today(session, action.district_id)
    names = await display_names(session, [action.owner])
    return service.action_out(action, today, await service.history(session, action.id), names)


@router.post("", operation_id="createAction", status_code=status.HTTP_201_CREATED, summary="Create an action item: what, who, by when")
async def create_action(data: ActionIn, session: SessionDep, principal: RoutinesWriter, request: Request) -> ActionOut:
    district_for_today = data.district_id or principal.default_district()
    if data.meeting_id:
        district_for_today = (await get_visible(session, Meeting, data.meeting_id, principal, "Meeting")).district_id
    elif data.goal_id:
        district_for_today = (await get_visible(session, Goal, data.goal_id, principal, "Goal")).district_id
    today = await district_today(session, resolve_district(principal, district_for_today))
    action = await service.create(session, principal, data, today, request.app.state.settings)
    await record(session, request, principal, "create", "action", action)
    return await _answer(session, action, today)


@router.get("", operation_id="listActions", summary="Action items, the caller's own first; filter by overdue, owner, goal, meeting")
async def list_actions(
    session: SessionDep,
    principal: RoutinesReader,
    district: Annotated[uuid.UUID | None, Query(description="For callers of several districts")] = None,
    overdue: bool | None = None,
    owner: Annotated[str | None, Query(max_length=200, description="A user subject, or `me`")] = None,
    goal: uuid.UUID | None = None,
    meeting_id: uuid.UUID | None = None,
    status_: Annotated[list[ActionStatus] | None, Query(alias="status")] = None,
    due_before: Annotated[date | None, Query(description="Open actions due on or before this date")] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ActionOut]:
    if meeting_id and not district:
        district = (await get_visible(session, Meeting, meeting_id, principal, "Meeting")).district_id
    district_id = resolve_district(principal, district)
    today = await district_today(session, district_id)
    owner = principal.subject if owner == "me" else owner
    stmt = service.list_query(
        principal, district_id, today, overdue=overdue, owner=owner, goal=goal, meeting_id=meeting_id, status=status_, due_before=due_before
    )
    rows, next_cursor = await service.page_mine_first(session, principal, stmt, cursor, limit)
    names = await display_names(session, (a.owner for a in rows))
    return Page(items=[service.action_out(a, today, names=names) for a in rows], next_cursor=next_cursor)


@router.get("/{action_id}", operation_id="getAction", summary="One action item with its status history")
async def get_action(action_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> ActionOut:
    return await _answer(session, await _visible_action(session, principal, action_id))


@router.patch("/{action_id}", operation_id="updateAction", summary="Change an action's title, owner or due date")
async def update_action(action_id: uuid.UUID, data: ActionPatch, session: SessionDep, principal: RoutinesWriter, request: Request) -> ActionOut:
    action = await _visible_action(session, principal, action_id)
    changes = data.model_dump(exclude_unset=True)
    if "due_date" in changes and changes["due_date"] != action.due_date:
        action.overdue_notified_at = action.due_soon_notified_at = None  # a new date earns new reminders
    for key, value in changes.items():
        setattr(action, key, value)
    action = await save(session, action)
    await record(session, request, principal, "update", "action", action)
    return await _answer(session, action)


@router.post("/{action_id}/status", operation_id="changeActionStatus", summary="Move an action: open → in_progress → done or dropped (kept with who and when)")
async def change_action_status(action_id: uuid.UUID, data: StatusChangeIn, session: SessionDep, principal: RoutinesWriter, request: Request) -> ActionOut:
    action = await _visible_action(session, principal, action_id)
    action = await service.change_status(session, principal, action, data.status, data.note)
    await record(session, request, principal, "status", "action", action, {"to": data.status})
    return await _answer(session, action)
