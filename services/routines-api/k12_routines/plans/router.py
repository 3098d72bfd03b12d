from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import select

from k12shared.auth import Principal, Role, RoutinesReader, RoutinesWriter, Scope, requires
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import DeliveryPlan, Goal, Judgment, Milestone, Strategy
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_routines.access import get_visible, resolve_district
from k12_routines.metrics_client import MetricsClient
from k12_routines.plans import service
from k12_routines.plans.schemas import (
    GoalIn,
    GoalOut,
    GoalPatch,
    JudgmentIn,
    JudgmentOut,
    MilestoneIn,
    MilestoneOut,
    MilestonePatch,
    PlanDetail,
    PlanIn,
    PlanOut,
    PlanPatch,
    StrategyIn,
    StrategyOut,
)
from k12_routines.store import record, save

router = APIRouter(tags=["plans"], responses=PROBLEM_RESPONSES)
PlanWriter = Annotated[Principal, requires(Scope.routines_write, Role.district_admin)]
DistrictParam = Annotated[uuid.UUID | None, Query(description="For callers of several districts")]


def metrics_for(request: Request, principal: Principal) -> MetricsClient:
    return MetricsClient(request.app.state.services, principal.token)


@router.post("/api/v1/plans", operation_id="createPlan", status_code=status.HTTP_201_CREATED, summary="Create a district's delivery plan for a school year")
async def create_plan(data: PlanIn, session: SessionDep, principal: PlanWriter, request: Request) -> PlanOut:
    plan = await service.create_plan(session, principal, data)
    await record(session, request, principal, "create", "plan", plan)
    return PlanOut(**service.plan_out(plan))


@router.get("/api/v1/plans", operation_id="listPlans", summary="A district's delivery plans")
async def list_plans(session: SessionDep, principal: RoutinesReader, district: DistrictParam = None, cursor: CursorParam = None, limit: LimitParam = 50) -> Page[PlanOut]:
    stmt = select(DeliveryPlan).where(DeliveryPlan.district_id == resolve_district(principal, district))
    rows, next_cursor = await paginate(session, stmt, [DeliveryPlan.id], cursor=cursor, limit=limit)
    return Page(items=[PlanOut(**service.plan_out(p)) for p in rows], next_cursor=next_cursor)


@router.get("/api/v1/plans/{plan_id}", operation_id="getPlan", summary="A plan with its goals")
async def get_plan(plan_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> PlanDetail:
    plan = await get_visible(session, DeliveryPlan, plan_id, principal, "Plan")
    goals = list(await session.scalars(service.goals_query(principal, plan.district_id, plan_id=plan.id).order_by(Goal.created_at, Goal.id)))
    judgments = await service.latest_judgments(session, [g.id for g in goals])
    return PlanDetail(**service.plan_out(plan), goals=[service.goal_out(g, judgments.get(g.id)) for g in goals])


@router.patch("/api/v1/plans/{plan_id}", operation_id="updatePlan", summary="Change a plan's title or aspiration")
async def update_plan(plan_id: uuid.UUID, data: PlanPatch, session: SessionDep, principal: PlanWriter, request: Request) -> PlanOut:
    plan = await get_visible(session, DeliveryPlan, plan_id, principal, "Plan")
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(plan, key, value)
    plan = await save(session, plan)
    await record(session, request, principal, "update", "plan", plan)
    return PlanOut(**service.plan_out(plan))


@router.post("/api/v1/goals", operation_id="createGoal", status_code=status.HTTP_201_CREATED, summary="Create a goal on a metric and subgroup, with its target in metrics-api")
async def create_goal(data: GoalIn, session: SessionDep, principal: PlanWriter, request: Request) -> GoalOut:
    goal = await service.create_goal(session, principal, data, metrics_for(request, principal))
    await record(session, request, principal, "create", "goal", goal)
    return service.goal_out(goal, strategies=[])


@router.get("/api/v1/goals", operation_id="listGoals", summary="A district's goals, with their latest judgment")
async def list_goals(
    session: SessionDep,
    principal: RoutinesReader,
    district: DistrictParam = None,
    plan: uuid.UUID | None = None,
    owner: Annotated[str | None, Query(max_length=200, description="A user subject, or `me`")] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[GoalOut]:
    district_id = resolve_district(principal, district)
    owner = principal.subject if owner == "me" else owner
    rows, next_cursor = await paginate(session, service.goals_query(principal, district_id, plan, owner), [Goal.id], cursor=cursor, limit=limit)
    judgments = await service.latest_judgments(session, [g.id for g in rows])
    return Page(items=[service.goal_out(g, judgments.get(g.id)) for g in rows], next_cursor=next_cursor)


@router.get("/api/v1/goals/{goal_id}", operation_id="getGoal", summary="A goal with its delivery chain, strategies and milestones")
async def get_goal(goal_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> GoalOut:
    goal = await get_visible(session, Goal, goal_id, principal, "Goal")
    judgments = await service.latest_judgments(session, [goal.id])
    return service.goal_out(goal, judgments.get(goal.id), await service.strategies_of(session, goal.id))


@router.patch("/api/v1/goals/{goal_id}", operation_id="updateGoal", summary="Change a goal's title, owner or delivery chain")
async def update_goal(goal_id: uuid.UUID, data: GoalPatch, session: SessionDep, principal: PlanWriter, request: Request) -> GoalOut:
    goal = await get_visible(session, Goal, goal_id, principal, "Goal")
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(goal, key, value)
    goal = await save(session, goal)
    await record(session, request, principal, "update", "goal", goal)
    return service.goal_out(goal)


@router.post("/api/v1/goals/{goal_id}/target-sync", operation_id="syncGoalTarget", summary="Create the goal's target in metrics-api again, after it was unavailable")
async def sync_goal_target(goal_id: uuid.UUID, session: SessionDep, principal: PlanWriter, request: Request) -> GoalOut:
    goal = await get_visible(session, Goal, goal_id, principal, "Goal")
    if goal.target_id is None:
        await service.sync_target(goal, metrics_for(request, principal))
        goal = await save(session, goal)
        await record(session, request, principal, "sync-target", "goal", goal)
    return service.goal_out(goal)


@router.get("/api/v1/goals/{goal_id}/progress", operation_id="getGoalProgress", summary="The goal's actuals against its trajectory, from metrics-api")
async def goal_progress(goal_id: uuid.UUID, session: SessionDep, principal: RoutinesReader, request: Request) -> dict:
    from k12_routines.meetings.pack import goal_numbers

    goal = await get_visible(session, Goal, goal_id, principal, "Goal")
    return await goal_numbers(goal, metrics_for(request, principal))


@router.post("/api/v1/goals/{goal_id}/judgments", operation_id="recordJudgment", status_code=status.HTTP_201_CREATED, summary="Judge the likelihood of delivery: green, amber_green, amber_red or red")
async def record_judgment(goal_id: uuid.UUID, data: JudgmentIn, session: SessionDep, principal: RoutinesWriter, request: Request) -> JudgmentOut:
    goal = await get_visible(session, Goal, goal_id, principal, "Goal")
    judgment = await service.record_judgment(session, principal, goal, data)
    await record(session, request, principal, "create", "judgment", judgment)
    return JudgmentOut.model_validate(judgment)


@router.get("/api/v1/goals/{goal_id}/judgments", operation_id="listJudgments", summary="The history of a goal's judgments, newest first")
async def list_judgments(goal_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> Page[JudgmentOut]:
    goal = await get_visible(session, Goal, goal_id, principal, "Goal")
    rows = await session.scalars(select(Judgment).where(Judgment.goal_id == goal.id).order_by(Judgment.recorded_at.desc(), Judgment.id.desc()))
    return Page(items=[JudgmentOut.model_validate(j) for j in rows])


@router.post("/api/v1/strategies", operation_id="createStrategy", status_code=status.HTTP_201_CREATED, summary="Add a strategy to a goal")
async def create_strategy(data: StrategyIn, session: SessionDep, principal: RoutinesWriter, request: Request) -> StrategyOut:
    goal = await get_visible(session, Goal, data.goal_id, principal, "Goal")
    strategy = await save(session, Strategy(district_id=goal.district_id, goal_id=goal.id, title=data.title, description=data.description, owner=data.owner))
    await record(session, request, principal, "create", "strategy", strategy)
    return StrategyOut(id=strategy.id, goal_id=goal.id, title=strategy.title, description=strategy.description, owner=strategy.owner, milestones=[])


@router.get("/api/v1/strategies", operation_id="listStrategies", summary="A goal's strategies and milestones")
async def list_strategies(goal: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> Page[StrategyOut]:
    found = await get_visible(session, Goal, goal, principal, "Goal")
    return Page(items=await service.strategies_of(session, found.id))


async def _strategy(session, principal: Principal, strategy_id: uuid.UUID) -> Strategy:
    strategy = await get_visible(session, Strategy, strategy_id, principal, "Strategy")
    await get_visible(session, Goal, strategy.goal_id, principal, "Strategy")
    return strategy


@router.post("/api/v1/milestones", operation_id="createMilestone", status_code=status.HTTP_201_CREATED, summary="Add a milestone to a strategy")
async def create_milestone(data: MilestoneIn, session: SessionDep, principal: RoutinesWriter, request: Request) -> MilestoneOut:
    strategy = await _strategy(session, principal, data.strategy_id)
    milestone = await save(session, Milestone(district_id=strategy.district_id, strategy_id=strategy.id, title=data.title, due_date=data.due_date, owner=data.owner))
    await record(session, request, principal, "create", "milestone", milestone)
    return MilestoneOut.model_validate(milestone)


@router.patch("/api/v1/milestones/{milestone_id}", operation_id="updateMilestone", summary="Change a milestone, or mark it done or missed")
async def update_milestone(milestone_id: uuid.UUID, data: MilestonePatch, session: SessionDep, principal: RoutinesWriter, request: Request) -> MilestoneOut:
    milestone = await get_visible(session, Milestone, milestone_id, principal, "Milestone")
    await _strategy(session, principal, milestone.strategy_id)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(milestone, key, value)
    milestone = await save(session, milestone)
    await record(session, request, principal, "update", "milestone", milestone)
    return MilestoneOut.model_validate(milestone)
