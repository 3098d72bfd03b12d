"""A meeting's agenda: first the goals off trajectory or judged amber/red or red, then overdue
actions, then the rest. Open actions from earlier meetings of the routine (or on its goals)
carry forward onto every next agenda until they are done or dropped."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.models import ActionItem, Goal, Meeting, Routine
from k12_routines.actions.service import OPEN, is_overdue
from k12_routines.metrics_client import is_off_trajectory
from k12_routines.people import display_names
from k12_routines.plans.service import latest_judgments

CONCERNING = {"amber_red", "red"}


async def carried_actions(session: AsyncSession, meeting: Meeting, routine: Routine) -> list[ActionItem]:
    earlier = select(Meeting.id).where(Meeting.routine_id == routine.id, Meeting.original_start < meeting.original_start)
    sources = [ActionItem.meeting_id.in_(earlier)]
    if routine.goal_ids:
        sources.append(ActionItem.goal_id.in_(routine.goal_ids) & ((ActionItem.meeting_id.is_(None)) | (ActionItem.meeting_id != meeting.id)))
    stmt = (
        select(ActionItem)
        .where(ActionItem.district_id == meeting.district_id, ActionItem.status.in_(OPEN), or_(*sources))
        .order_by(ActionItem.due_date, ActionItem.id)
    )
    return list(await session.scalars(stmt))


def _goal_item(goal: Goal, judgment, status: dict | None, reasons: list[str], names: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "goal",
        "id": str(goal.id),
        "title": goal.title,
        "owner": goal.owner,
        "owner_name": names.get(goal.owner),
        "metric": goal.metric_code,
        "subgroup": goal.subgroup_code,
        "data_status": status,
        "judgment": judgment.rating if judgment else None,
        "reasons": reasons,
    }


def _action_item(action: ActionItem, today: date, reasons: list[str], names: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "action",
        "id": str(action.id),
        "title": action.title,
        "owner": action.owner,
        "owner_name": names.get(action.owner),
        "due_date": action.due_date.isoformat(),
        "status": action.status,
        "overdue": is_overdue(action, today),
        "carried_from_meeting_id": str(action.meeting_id) if action.meeting_id else None,
        "reasons": reasons,
    }


async def build_agenda(
    session: AsyncSession, meeting: Meeting, routine: Routine, today: date, statuses: dict[uuid.UUID, dict | None] | None = None
) -> dict[str, Any]:
    """``statuses``: each goal's data status from metrics-api (None when it could not be read)."""
    from k12_routines.meetings.pack import routine_goals

    statuses = statuses or {}
    goals = await routine_goals(session, routine)
    judgments = await latest_judgments(session, [g.id for g in goals])
    actions = await carried_actions(session, meeting, routine)
    names = await display_names(session, [g.owner for g in goals] + [a.owner for a in actions])
    attention, rest = [], []
    for goal in goals:
        judgment, status = judgments.get(goal.id), statuses.get(goal.id)
        reasons = []
        if status and is_off_trajectory(status):
            reasons.append("off trajectory")
        if judgment and judgment.rating in CONCERNING:
            reasons.append(f"judged {judgment.rating.replace('_', '/')}")
        (attention if reasons else rest).append(_goal_item(goal, judgment, status, reasons, names))
    overdue, carried = [], []
    for action in actions:
        if is_overdue(action, today):
            overdue.append(_action_item(action, today, ["overdue", "carried forward"], names))
        else:
            carried.append(_action_item(action, today, ["carried forward"], names))
    items = [*({"section": "attention", **i} for i in attention), *({"section": "overdue_actions", **i} for i in overdue)]
    items += [*({"section": "rest", **i} for i in rest), *({"section": "rest", **i} for i in carried)]
    for position, item in enumerate(items, start=1):
        item["position"] = position
    return {"meeting_id": str(meeting.id), "items": items, "data_status_known": all(_known(statuses.get(g.id)) for g in goals)}


def _known(status: dict | None) -> bool:
    return bool(status and (status.get("status") or status.get("rag")))
