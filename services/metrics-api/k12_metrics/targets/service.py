"""Targets: plain reads and writes, and each period's actual judged against the trajectory."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth.principal import Principal
from k12shared.errors import NotFound, Unprocessable
from k12shared.models import Metric, Observation, Organization, Subgroup, Target
from k12_metrics.access import visible_observations
from k12_metrics.periods import parse_one, show
from k12_metrics.suppression import hidden_cells, key_of
from k12_metrics.targets import trajectory
from k12_metrics.targets.schemas import PeriodJudgment, TargetIn, TargetOut, TargetPatch, Trajectory


def _stored_trajectory(t: Trajectory) -> dict:
    return {"kind": t.kind, "points": [{"year": parse_one(p.period), "value": p.value} for p in t.points]}


def _shown_trajectory(stored: dict) -> Trajectory:
    return Trajectory(kind=stored.get("kind", "linear"), points=[{"period": show(p["year"]), "value": p["value"]} for p in stored.get("points", [])])


async def _check_catalog(session: AsyncSession, metric: str, *subgroups: str | None) -> Metric:
    found = await session.get(Metric, metric)
    if found is None:
        raise Unprocessable(f"Unknown metric '{metric}'", field="metric")
    for code in subgroups:
        if code is not None and await session.get(Subgroup, code) is None:
            raise Unprocessable(f"Unknown subgroup '{code}'", field="subgroup")
    return found


async def create(session: AsyncSession, principal: Principal, data: TargetIn) -> Target:
    org = await session.get(Organization, data.org_id)
    if org is None:
        raise NotFound("Organization not found", field="org_id")
    if not principal.can_access_org(org.district_id, org.id):
        raise NotFound("Organization not found", field="org_id")
    await _check_catalog(session, data.metric, data.subgroup, data.reference_subgroup)
    target = Target(
        id=uuid.uuid4(), org_id=org.id, district_id=org.district_id, metric_code=data.metric, subgroup_code=data.subgroup,
        reference_subgroup_code=data.reference_subgroup, title=data.title,
        baseline_year=parse_one(data.baseline_period, "baseline_period"), baseline_value=data.baseline_value,
        target_year=parse_one(data.target_period, "target_period"), target_value=data.target_value,
        trajectory=_stored_trajectory(data.trajectory), tolerance=data.tolerance, created_by=principal.subject,
    )
    session.add(target)
    await session.flush()
    await session.refresh(target)
    return target


async def get_visible(session: AsyncSession, principal: Principal, target_id: uuid.UUID) -> Target:
    target = await session.get(Target, target_id)
    if target is None:
        raise NotFound("Target not found")
    if not principal.can_access_org(target.district_id, target.org_id):
        raise NotFound("Target not found")
    return target


def list_query(principal: Principal, *, org: uuid.UUID | None, metric: str | None, subgroup: str | None, gaps: bool | None) -> Select:
    stmt = select(Target)
    if not principal.is_platform:
        stmt = stmt.where(Target.district_id.in_(list(principal.district_ids)))
    if principal.is_school_scoped:  # a school's leader: the district's own targets and those of their schools
        stmt = stmt.where(or_(Target.org_id == Target.district_id, Target.org_id.in_(list(principal.school_ids))))
    if org:
        stmt = stmt.where(Target.org_id == org)
    if metric:
        stmt = stmt.where(Target.metric_code == metric)
    if subgroup:
        stmt = stmt.where(Target.subgroup_code == subgroup)
    if gaps is not None:
        stmt = stmt.where(Target.reference_subgroup_code.is_not(None) if gaps else Target.reference_subgroup_code.is_(None))
    return stmt


async def patch(session: AsyncSession, target: Target, data: TargetPatch) -> Target:
    changes = data.model_dump(exclude_unset=True)
    if "trajectory" in changes and data.trajectory is not None:
        target.trajectory = _stored_trajectory(data.trajectory)
    for field, column in (("title", "title"), ("baseline_value", "baseline_value"), ("target_value", "target_value"), ("tolerance", "tolerance")):
        if field in changes and changes[field] is not None:
            setattr(target, column, changes[field])
    if data.baseline_period:
        target.baseline_year = parse_one(data.baseline_period, "baseline_period")
    if data.target_period:
        target.target_year = parse_one(data.target_period, "target_period")
    if target.target_year <= target.baseline_year:
        raise Unprocessable("target_period must come after baseline_period", field="target_period")
    if any(not target.baseline_year < p["year"] <= target.target_year for p in target.trajectory.get("points", [])):
        raise Unprocessable("a trajectory point lies outside the baseline and target periods", field="trajectory")
    await session.flush()
    await session.refresh(target)
    return target


def plan_of(target: Target, metric_direction: str) -> trajectory.Plan:
    base, goal = float(target.baseline_value), float(target.target_value)
    higher = goal > base if goal != base else metric_direction != "lower_is_better"
    stored = target.trajectory or {}
    return trajectory.Plan(target.baseline_year, base, target.target_year, goal, stored.get("kind", "linear"),
                           {p["year"]: float(p["value"]) for p in stored.get("points", [])}, float(target.tolerance), higher)


async def actuals(session: AsyncSession, principal: Principal, target: Target) -> dict[int, tuple[float | None, str, float | None]]:
    """year -> (value, how usable, n); a gap's value is subgroup minus reference, both exact and shown."""
    subgroups = [target.subgroup_code] + ([target.reference_subgroup_code] if target.reference_subgroup_code else [])
    rows = list(await session.scalars(
        select(Observation).where(visible_observations(principal), Observation.org_id == target.org_id,
                                  Observation.metric_code == target.metric_code, Observation.subgroup_code.in_(subgroups))
    ))
    hidden = await hidden_cells(session, rows)
    cells: dict[int, dict[str, tuple[float | None, str, float | None]]] = {}
    for row in rows:
        usable = row.status == "exact" and key_of(row) not in hidden
        status = "suppressed" if key_of(row) in hidden else row.status
        cells.setdefault(row.school_year, {})[row.subgroup_code] = (
            float(row.value) if usable else None, status, None if key_of(row) in hidden or row.denominator is None else float(row.denominator))
    out = {}
    for year, by_subgroup in cells.items():
        mine = by_subgroup.get(target.subgroup_code, (None, "missing", None))
        if target.reference_subgroup_code is None:
            out[year] = mine
            continue
        ref = by_subgroup.get(target.reference_subgroup_code, (None, "missing", None))
        if mine[0] is None or ref[0] is None:
            out[year] = (None, f"gap not computable (subgroup {mine[1]}, reference {ref[1]})", mine[2])
        else:
            out[year] = (round(mine[0] - ref[0], 4), "exact", mine[2])
    return out


def judged_periods(plan: trajectory.Plan, found: dict[int, tuple[float | None, str, float | None]]) -> list[PeriodJudgment]:
    last = max([plan.target_year, *found])
    periods = []
    for year in range(plan.baseline_year, last + 1):
        expected = trajectory.expected(plan, year)
        value, how, n = found.get(year, (None, "missing", None))
        judgment = trajectory.judge(plan, expected, value) if value is not None and expected is not None and year > plan.baseline_year else {}
        periods.append(PeriodJudgment(period=show(year), expected=None if expected is None else round(expected, 4), actual=value,
                                      actual_status=how, n=n, **judgment))
    return periods


async def out(session: AsyncSession, principal: Principal, target: Target) -> TargetOut:
    metric = await session.get(Metric, target.metric_code)
    plan = plan_of(target, metric.direction if metric else "higher_is_better")
    periods = judged_periods(plan, await actuals(session, principal, target))
    latest = next((p for p in reversed(periods) if p.status), None)
    return TargetOut(
        id=target.id, org_id=target.org_id, district_id=target.district_id, metric=target.metric_code, subgroup=target.subgroup_code,
        reference_subgroup=target.reference_subgroup_code, kind="gap" if target.reference_subgroup_code else "metric", title=target.title,
        baseline_period=show(target.baseline_year), baseline_value=float(target.baseline_value), target_period=show(target.target_year),
        target_value=float(target.target_value), trajectory=_shown_trajectory(target.trajectory or {}), tolerance=float(target.tolerance),
        direction="higher_is_better" if plan.higher_is_better else "lower_is_better",
        status=latest.status if latest else None, rag=latest.rag if latest else None, latest=latest, periods=periods,
        created_by=target.created_by, created_at=target.created_at, updated_at=target.updated_at,
    )
