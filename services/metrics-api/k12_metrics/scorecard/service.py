"""A balanced scorecard: student achievement, equity, attendance and engagement, operations and finance."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from k12shared.auth.principal import Principal
from k12shared.models import Metric, Organization, Target
from k12_metrics.periods import show
from k12_metrics.readings import Reading, read, trend
from k12_metrics.targets import service as targets

PERSPECTIVES = {
    "student_achievement": ("Student achievement", ("academic", "graduation", "readiness")),
    "attendance_engagement": ("Attendance and engagement", ("attendance", "climate")),
    "operations_finance": ("Operations and finance", ("operations", "finance")),
}
# Gaps are compared on rates and scores; a count (enrollment) differs by group size, not by equity.
GAP_UNITS = {"percent", "index", "score", "rate_per_100"}
TREND_YEARS = 5
FLAT_SLOPE = 0.05  # change per year below which a trend is called flat


def _trend(metric: Metric, series: list[tuple[int, float]]) -> dict:
    slope = trend(series[-TREND_YEARS:])
    if slope is None:
        word = "not enough years"
    elif abs(slope) < FLAT_SLOPE:
        word = "flat"
    else:
        word = "improving" if (slope > 0) == (metric.direction != "lower_is_better") else "declining"
    return {"direction": word, "slope_per_year": slope, "series": [{"period": show(y), "value": v} for y, v in series[-TREND_YEARS:]]}


async def _target_summary(session, principal: Principal, target: Target | None) -> dict | None:
    if target is None:
        return None
    out = await targets.out(session, principal, target)
    return {"id": str(out.id), "target_value": out.target_value, "target_period": out.target_period, "status": out.status, "rag": out.rag,
            "expected_latest": out.latest.expected if out.latest else None}


def _metric_line(metric: Metric, cells: dict[int, Reading], year: int | None) -> dict | None:
    shown = sorted((y, c) for y, c in cells.items() if year is None or y <= year)
    if not shown:
        return None
    latest_year, latest = shown[-1]
    series = [(y, c.value) for y, c in shown if c.value is not None]
    return {"metric": metric.code, "name": metric.name, "unit": metric.unit, "direction": metric.direction, "category": metric.category,
            "latest": {"period": show(latest_year), "value": latest.value, "status": latest.status, "published_as": latest.published_as, "n": latest.n},
            "trend": _trend(metric, series)}


def _equity_line(metric: Metric, cells: dict[str, Reading]) -> dict | None:
    reference = cells.get("all")
    if reference is None or reference.value is None:
        return None
    gaps = [(sg, c.value - reference.value) for sg, c in cells.items() if sg != "all" and c.value is not None]
    if not gaps:
        return None
    sign = -1 if metric.direction != "lower_is_better" else 1
    subgroup, gap = max(gaps, key=lambda g: sign * g[1])
    return {"metric": metric.code, "name": f"Largest gap: {metric.name}", "unit": metric.unit, "direction": metric.direction,
            "subgroup": subgroup, "gap": round(gap, 4), "behind_by": round(sign * gap, 4),
            "suppressed_groups": sorted(sg for sg, c in cells.items() if c.value is None)}


async def scorecard(session, principal: Principal, org: Organization, year: int | None) -> dict:
    metrics = {m.code: m for m in await session.scalars(select(Metric))}
    readings = await read(session, principal, org_ids=[org.id], years=(0, year) if year else None)
    all_students: dict[str, dict[int, Reading]] = defaultdict(dict)
    by_subgroup: dict[tuple[str, int], dict[str, Reading]] = defaultdict(dict)
    for r in readings:
        if r.subgroup == "all":
            all_students[r.metric][r.year] = r
        by_subgroup[(r.metric, r.year)][r.subgroup] = r
    own_targets = {}
    if principal.can_access_district(org.district_id):
        for t in await session.scalars(select(Target).where(Target.org_id == org.id, Target.subgroup_code == "all",
                                                            Target.reference_subgroup_code.is_(None)).order_by(Target.created_at)):
            own_targets.setdefault(t.metric_code, t)
    perspectives = []
    for key, (name, categories) in PERSPECTIVES.items():
        lines = []
        for code in sorted(all_students):
            metric = metrics[code]
            if metric.category not in categories:
                continue
            line = _metric_line(metric, all_students[code], year)
            if line:
                target = await _target_summary(session, principal, own_targets.get(code))
                lines.append({**line, "target": target, "status": target["status"] if target else None, "rag": target["rag"] if target else None})
        perspectives.append({"key": key, "name": name, "metrics": lines})
    equity = []
    for code in sorted({m for m, _ in by_subgroup if metrics[m].unit in GAP_UNITS}):
        latest_year = max(y for m, y in by_subgroup if m == code)
        line = _equity_line(metrics[code], by_subgroup[(code, latest_year)])
        if line:
            equity.append({**line, "period": show(latest_year)})
    perspectives.insert(1, {"key": "equity", "name": "Equity", "metrics": equity})
    return {"org_id": str(org.id), "name": org.name, "period": show(year) if year else "latest", "perspectives": perspectives}
