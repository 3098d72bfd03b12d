"""Delivery plans → goals → strategies → milestones, and judgments on goals."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth import Principal
from k12shared.errors import NotFound, Unprocessable
from k12shared.models import DeliveryPlan, Goal, Judgment, Metric, Milestone, Organization, Strategy, Subgroup
from k12_routines import periods
from k12_routines.access import get_visible, require_school, resolve_district, school_condition
from k12_routines.events import emit
from k12_routines.metrics_client import MetricsClient
from k12_routines.plans.schemas import GoalIn, GoalOut, JudgmentIn, JudgmentOut, MilestoneOut, PlanIn, StrategyOut, TargetSync
from k12_routines.store import save


async def create_plan(session: AsyncSession, principal: Principal, data: PlanIn) -> DeliveryPlan:
    district_id = resolve_district(principal, data.district_id)
    plan = DeliveryPlan(
        district_id=district_id,
        school_year=periods.parse(data.school_year),
        title=data.title,
        aspiration=data.aspiration,
        created_by=principal.subject,
    )
    return await save(session, plan)


def plan_out(plan: DeliveryPlan) -> dict[str, Any]:
    return {**{c: getattr(plan, c) for c in ("id", "district_id", "title", "aspiration", "created_by", "created_at")}, "school_year": periods.show(plan.school_year)}


async def _check_org(session: AsyncSession, org_id: uuid.UUID, district_id: uuid.UUID) -> Organization:
    org = await session.get(Organization, org_id)
    if org is None or org.district_id != district_id:
        raise NotFound("Organization not found in this district", field="org_id")
    return org


async def _check_catalog(session: AsyncSession, metric: str, subgroup: str) -> None:
    if await session.get(Metric, metric) is None:
        raise Unprocessable(f"Unknown metric '{metric}'", field="metric")
    if await session.get(Subgroup, subgroup) is None:
        raise Unprocessable(f"Unknown subgroup '{subgroup}'", field="subgroup")


def target_request(goal: Goal) -> dict[str, Any]:
    """The target metrics-api keeps for this goal (its actuals vs trajectory, status and RAG)."""
    return {
        "org_id": str(goal.org_id),
        "metric": goal.metric_code,
        "subgroup": goal.subgroup_code,
        "baseline_period": periods.show(goal.baseline_period),
        "baseline_value": float(goal.baseline_value),
        "target_value": float(goal.target_value),
        "target_period": periods.show(goal.target_period),
        "trajectory": goal.trajectory,
    }


async def sync_target(goal: Goal, metrics: MetricsClient) -> None:
    """Create the goal's target in metrics-api; a failure is kept on the goal and retried on demand."""
    created = await metrics.create_target(target_request(goal))
    target_id = (created.data or {}).get("id") if created.ok and isinstance(created.data, dict) else None
    if target_id:
        goal.target_id, goal.target_sync_error = uuid.UUID(str(target_id)), None
    else:
        goal.target_sync_error = (created.unavailable or "metrics-api returned no target id")[:500]


async def create_goal(session: AsyncSession, principal: Principal, data: GoalIn, metrics: MetricsClient) -> Goal:
    plan = await get_visible(session, DeliveryPlan, data.plan_id, principal, "Plan")
    require_school(principal, data.school_id)
    if data.school_id is not None:
        await _check_org(session, data.school_id, plan.district_id)
    org_id = data.org_id or data.school_id or plan.district_id
    await _check_org(session, org_id, plan.district_id)
    await _check_catalog(session, data.metric, data.subgroup)
    goal = Goal(
        id=uuid.uuid4(),
        district_id=plan.district_id,
        school_id=data.school_id,
        plan_id=plan.id,
        title=data.title,
        org_id=org_id,
        metric_code=data.metric,
        subgroup_code=data.subgroup,
        baseline_period=periods.parse(data.baseline_period, "baseline_period"),
        baseline_value=data.baseline_value,
        target_period=periods.parse(data.target_period, "target_period"),
        target_value=data.target_value,
        trajectory=data.trajectory.model_dump(),
        owner=data.owner or principal.subject,
        delivery_chain=[link.model_dump() for link in data.delivery_chain],
        created_by=principal.subject,
    )
    await sync_target(goal, metrics)
    return await save(session, goal)


async def latest_judgments(session: AsyncSession, goal_ids: list[uuid.UUID]) -> dict[uuid.UUID, Judgment]:
    if not goal_ids:
        return {}
    rows = await session.scalars(select(Judgment).where(Judgment.goal_id.in_(goal_ids)).order_by(Judgment.recorded_at.desc(), Judgment.id.desc()))
    latest: dict[uuid.UUID, Judgment] = {}
    for judgment in rows:
        latest.setdefault(judgment.goal_id, judgment)
    return latest


async def strategies_of(session: AsyncSession, goal_id: uuid.UUID) -> list[StrategyOut]:
    strategies = list(await session.scalars(select(Strategy).where(Strategy.goal_id == goal_id).order_by(Strategy.created_at, Strategy.id)))
    milestones = list(
        await session.scalars(
            select(Milestone).where(Milestone.strategy_id.in_([s.id for s in strategies])).order_by(Milestone.due_date, Milestone.id)
        )
    ) if strategies else []
    return [
        StrategyOut(
            id=s.id,
            goal_id=s.goal_id,
            title=s.title,
            description=s.description,
            owner=s.owner,
            milestones=[MilestoneOut.model_validate(m) for m in milestones if m.strategy_id == s.id],
        )
        for s in strategies
    ]


def goal_out(goal: Goal, judgment: Judgment | None = None, strategies: list[StrategyOut] | None = None) -> GoalOut:
    return GoalOut(
        id=goal.id,
        plan_id=goal.plan_id,
        district_id=goal.district_id,
        school_id=goal.school_id,
        title=goal.title,
        org_id=goal.org_id,
        metric=goal.metric_code,
        subgroup=goal.subgroup_code,
        baseline_period=periods.show(goal.baseline_period),
        baseline_value=float(goal.baseline_value),
        target_period=periods.show(goal.target_period),
        target_value=float(goal.target_value),
        trajectory=goal.trajectory,
        owner=goal.owner,
        delivery_chain=goal.delivery_chain,
        target=TargetSync(target_id=goal.target_id, status="synced" if goal.target_id else "unavailable", error=goal.target_sync_error),
        latest_judgment=JudgmentOut.model_validate(judgment) if judgment else None,
        strategies=strategies,
        created_at=goal.created_at,
    )


def goals_query(principal: Principal, district_id: uuid.UUID, plan_id: uuid.UUID | None = None, owner: str | None = None):
    stmt = select(Goal).where(Goal.district_id == district_id)
    if plan_id:
        stmt = stmt.where(Goal.plan_id == plan_id)
    if owner:
        stmt = stmt.where(Goal.owner == owner)
    condition = school_condition(principal, Goal.school_id)
    return stmt.where(condition) if condition is not None else stmt


async def record_judgment(session: AsyncSession, principal: Principal, goal: Goal, data: JudgmentIn) -> Judgment:
    if data.meeting_id is not None:
        from k12shared.models import Meeting

        meeting = await session.get(Meeting, data.meeting_id)
        if meeting is None or meeting.district_id != goal.district_id:
            raise NotFound("Meeting not found", field="meeting_id")
    judgment = await save(
        session,
        Judgment(district_id=goal.district_id, goal_id=goal.id, meeting_id=data.meeting_id, rating=data.rating, rationale=data.rationale, recorded_by=principal.subject),
    )
    await emit(session, goal.district_id, "judgment.recorded", {"judgment": JudgmentOut.model_validate(judgment).model_dump(), "goal_title": goal.title})
    return judgment
