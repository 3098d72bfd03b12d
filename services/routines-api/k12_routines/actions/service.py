"""Action items: what, who, by when; each status change kept with who and when."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth import Principal
from k12shared.errors import Conflict, NotFound
from k12shared.models import ActionItem, ActionStatusChange, Goal, Meeting, Routine
from k12shared.pagination import decode_cursor, encode_cursor
from k12shared.settings import Settings
from k12_routines.access import can_see, require_school, resolve_district, school_condition
from k12_routines.actions.schemas import ActionIn, ActionOut, StatusChangeOut
from k12_routines.events import emit
from k12_routines.store import save

OPEN = ("open", "in_progress")
TRANSITIONS: dict[str, set[str]] = {
    "open": {"in_progress", "done", "dropped"},
    "in_progress": {"open", "done", "dropped"},
    "done": {"open"},  # reopened
    "dropped": {"open"},
}


def is_overdue(action: ActionItem, today: date) -> bool:
    return action.status in OPEN and action.due_date < today


def action_out(action: ActionItem, today: date, history: list[ActionStatusChange] | None = None, names: dict[str, str] | None = None) -> ActionOut:
    return ActionOut(
        id=action.id,
        district_id=action.district_id,
        school_id=action.school_id,
        title=action.title,
        owner=action.owner,
        owner_name=(names or {}).get(action.owner),
        due_date=action.due_date,
        meeting_id=action.meeting_id,
        goal_id=action.goal_id,
        status=action.status,  # type: ignore[arg-type]
        overdue=is_overdue(action, today),
        completed_at=action.completed_at,
        created_by=action.created_by,
        created_at=action.created_at,
        updated_at=action.updated_at,
        history=[StatusChangeOut.model_validate(h) for h in history] if history is not None else None,
    )


def event_data(action: ActionItem, today: date) -> dict:
    return action_out(action, today).model_dump(exclude={"history"})


async def _context(session: AsyncSession, principal: Principal, data: ActionIn) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The district and school of a new action, from its meeting or goal when it has them."""
    district_id = None
    school_id = data.school_id
    if data.meeting_id is not None:
        meeting = await session.get(Meeting, data.meeting_id)
        # A meeting belongs to its routine's school: a leader of another school may not attach to it.
        routine = await session.get(Routine, meeting.routine_id) if meeting is not None else None
        if meeting is None or routine is None or not can_see(principal, meeting) or not can_see(principal, routine):
            raise NotFound("Meeting not found", field="meeting_id")
        district_id, school_id = meeting.district_id, school_id or routine.school_id
    if data.goal_id is not None:
        goal = await session.get(Goal, data.goal_id)
        if goal is None or not can_see(principal, goal) or (district_id and goal.district_id != district_id):
            raise NotFound("Goal not found", field="goal_id")
        district_id, school_id = goal.district_id, school_id or goal.school_id
    district_id = district_id or resolve_district(principal, data.district_id)
    principal.require_district(district_id, resource="District")
    require_school(principal, school_id)
    return district_id, school_id


async def create(session: AsyncSession, principal: Principal, data: ActionIn, today: date, settings: Settings) -> ActionItem:
    district_id, school_id = await _context(session, principal, data)
    action = await save(
        session,
        ActionItem(
            id=uuid.uuid4(),
            district_id=district_id,
            school_id=school_id,
            title=data.title,
            owner=data.owner,
            due_date=data.due_date,
            meeting_id=data.meeting_id,
            goal_id=data.goal_id,
            status="open",
            created_by=principal.subject,
        ),
    )
    session.add(ActionStatusChange(district_id=district_id, action_id=action.id, from_status=None, to_status="open", changed_by=principal.subject))
    await emit(session, district_id, "action.created", event_data(action, today))
    await send_reminder_if_due(session, action, today, settings)
    return await save(session, action)


async def send_reminder_if_due(session: AsyncSession, action: ActionItem, today: date, settings: Settings) -> str | None:
    """Emit action.overdue or action.due_soon once per action; the periodic scan calls this too."""
    if action.status not in OPEN:
        return None
    now = datetime.now(UTC)
    if action.due_date < today and action.overdue_notified_at is None:
        action.overdue_notified_at = now
        await emit(session, action.district_id, "action.overdue", event_data(action, today))
        return "action.overdue"
    if today <= action.due_date <= today + timedelta(days=settings.action_due_soon_days) and action.due_soon_notified_at is None:
        action.due_soon_notified_at = now
        await emit(session, action.district_id, "action.due_soon", event_data(action, today))
        return "action.due_soon"
    return None


async def change_status(session: AsyncSession, principal: Principal, action: ActionItem, to_status: str, note: str | None) -> ActionItem:
    if to_status not in TRANSITIONS[action.status]:
        raise Conflict(f"An action cannot go from {action.status} to {to_status}", from_status=action.status, to_status=to_status)
    session.add(ActionStatusChange(district_id=action.district_id, action_id=action.id, from_status=action.status, to_status=to_status, note=note, changed_by=principal.subject))
    action.status = to_status
    action.completed_at = datetime.now(UTC) if to_status == "done" else None
    if to_status == "open":
        action.overdue_notified_at = action.due_soon_notified_at = None
    return await save(session, action)


async def history(session: AsyncSession, action_id: uuid.UUID) -> list[ActionStatusChange]:
    rows = await session.scalars(
        select(ActionStatusChange).where(ActionStatusChange.action_id == action_id).order_by(ActionStatusChange.changed_at, ActionStatusChange.id)
    )
    return list(rows)


def list_query(
    principal: Principal,
    district_id: uuid.UUID,
    today: date,
    *,
    overdue: bool | None = None,
    owner: str | None = None,
    goal: uuid.UUID | None = None,
    meeting_id: uuid.UUID | None = None,
    status: list[str] | None = None,
    due_before: date | None = None,
):
    stmt = select(ActionItem).where(ActionItem.district_id == district_id)
    condition = school_condition(principal, ActionItem.school_id)
    if condition is not None:
        # A leader also sees whatever is theirs to do, wherever it is.
        stmt = stmt.where(condition | (ActionItem.owner == principal.subject))
    if overdue is True:
        stmt = stmt.where(ActionItem.status.in_(OPEN), ActionItem.due_date < today)
    elif overdue is False:
        stmt = stmt.where(~(ActionItem.status.in_(OPEN) & (ActionItem.due_date < today)))
    if owner:
        stmt = stmt.where(ActionItem.owner == owner)
    if goal:
        stmt = stmt.where(ActionItem.goal_id == goal)
    if meeting_id:
        stmt = stmt.where(ActionItem.meeting_id == meeting_id)
    if status:
        stmt = stmt.where(ActionItem.status.in_(status))
    if due_before:
        stmt = stmt.where(ActionItem.status.in_(OPEN), ActionItem.due_date <= due_before)
    return stmt


async def page_mine_first(session: AsyncSession, principal: Principal, stmt, cursor: str | None, limit: int) -> tuple[list[ActionItem], str | None]:
    """Keyset pages ordered with the caller's own actions first, then by due date."""
    mine = case((ActionItem.owner == principal.subject, 0), else_=1)
    key = tuple_(mine, ActionItem.due_date, ActionItem.id)
    if cursor:
        values = decode_cursor(cursor)
        stmt = stmt.where(key > tuple_(*values))
    rows = list(await session.scalars(stmt.order_by(mine, ActionItem.due_date, ActionItem.id).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([0 if last.owner == principal.subject else 1, last.due_date, last.id])
    return rows, next_cursor
