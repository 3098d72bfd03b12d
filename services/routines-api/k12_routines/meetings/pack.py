"""The pre-read pack: for each goal in scope, its metric's actuals against the trajectory, status,
equity gaps, the last judgment and the open actions. Numbers come from metrics-api over HTTP;
a part metrics-api cannot give is named in ``unavailable`` instead of failing the pack."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.models import ActionItem, Goal, Meeting, Routine
from k12_routines import periods
from k12_routines.actions.service import OPEN, action_out
from k12_routines.metrics_client import MetricsClient, data_status
from k12_routines.people import display_names
from k12_routines.plans.schemas import JudgmentOut
from k12_routines.plans.service import goal_out, latest_judgments


def expected_path(goal: Goal) -> list[dict[str, Any]]:
    """The trajectory the goal set itself, year by year (what metrics-api's target also holds)."""
    base_year, target_year = goal.baseline_period, goal.target_period
    base, target = float(goal.baseline_value), float(goal.target_value)
    points = {periods.parse(p["period"]): float(p["value"]) for p in (goal.trajectory or {}).get("points", [])}
    kind = (goal.trajectory or {}).get("kind", "linear")
    path, held = [], base
    for year in range(base_year, target_year + 1):
        if year == base_year:
            value = base
        elif year == target_year:
            value = target
        elif kind in ("points", "stepped") and points:
            held = points.get(year, held if kind == "stepped" else None)  # type: ignore[arg-type]
            value = held
        else:
            value = base + (target - base) * (year - base_year) / (target_year - base_year)
        if value is not None:
            path.append({"period": periods.show(year), "expected": round(value, 4)})
    return path


async def goal_numbers(goal: Goal, metrics: MetricsClient) -> dict[str, Any]:
    unavailable: list[dict[str, str]] = []
    if goal.target_id is not None:
        target, gaps = await asyncio.gather(metrics.target(goal.target_id), metrics.equity_gaps(goal.org_id, goal.metric_code))
    else:
        target = None
        gaps = await metrics.equity_gaps(goal.org_id, goal.metric_code)
        unavailable.append({"part": "target", "reason": f"no target in metrics-api yet ({goal.target_sync_error or 'not created'})"})
    if target is not None and not target.ok:
        unavailable.append({"part": "target", "reason": target.unavailable or "unavailable"})
    if not gaps.ok:
        unavailable.append({"part": "equity_gaps", "reason": gaps.unavailable or "unavailable"})
    actuals = None
    if target is None or not target.ok:
        observed = await metrics.observations(goal.org_id, goal.metric_code, goal.subgroup_code)
        if observed.ok:
            actuals = (observed.data or {}).get("items", observed.data)
        else:
            unavailable.append({"part": "actuals", "reason": observed.unavailable or "unavailable"})
    target_data = target.data if target is not None and target.ok else None
    return {
        "metric": goal.metric_code,
        "subgroup": goal.subgroup_code,
        "org_id": str(goal.org_id),
        "target": target_data,
        "data_status": data_status(target_data),
        "expected_trajectory": expected_path(goal),
        "actuals": actuals,
        "equity_gaps": gaps.data if gaps.ok else None,
        "unavailable": unavailable,
    }


async def routine_goals(session: AsyncSession, routine: Routine) -> list[Goal]:
    if not routine.goal_ids:
        return []
    goals = {g.id: g for g in await session.scalars(select(Goal).where(Goal.id.in_(routine.goal_ids)))}
    return [goals[g] for g in routine.goal_ids if g in goals]


async def build_pack(session: AsyncSession, meeting: Meeting, routine: Routine, metrics: MetricsClient, today) -> dict[str, Any]:
    from k12_routines.meetings.agenda import build_agenda

    goals = await routine_goals(session, routine)
    judgments = await latest_judgments(session, [g.id for g in goals])
    numbers = await asyncio.gather(*(goal_numbers(g, metrics) for g in goals))
    open_actions = list(
        await session.scalars(
            select(ActionItem).where(ActionItem.goal_id.in_([g.id for g in goals]), ActionItem.status.in_(OPEN)).order_by(ActionItem.due_date, ActionItem.id)
        )
    ) if goals else []
    names = await display_names(session, [a.owner for a in open_actions])
    sections = []
    for goal, goal_numbers_ in zip(goals, numbers, strict=True):
        judgment = judgments.get(goal.id)
        sections.append(
            {
                "goal": goal_out(goal).model_dump(mode="json", exclude={"latest_judgment", "strategies"}),
                "numbers": goal_numbers_,
                "last_judgment": JudgmentOut.model_validate(judgment).model_dump(mode="json") if judgment else None,
                "open_actions": [action_out(a, today, names=names).model_dump(mode="json") for a in open_actions if a.goal_id == goal.id],
            }
        )
    agenda = await build_agenda(session, meeting, routine, today, statuses={g.id: n["data_status"] for g, n in zip(goals, numbers, strict=True)})
    return {
        "meeting_id": str(meeting.id),
        "routine": {"id": str(routine.id), "title": routine.title, "kind": routine.kind},
        "starts_at": meeting.starts_at.isoformat(),
        "generated_at": datetime.now(UTC).isoformat(),
        "goals": sections,
        "agenda": agenda,
        "unavailable": [{"goal_id": s["goal"]["id"], **u} for s in sections for u in s["numbers"]["unavailable"]],
    }
