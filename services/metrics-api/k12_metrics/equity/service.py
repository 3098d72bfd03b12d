"""Equity gaps: each subgroup against a reference group, over the years, largest first."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from k12shared.auth.principal import Principal
from k12shared.models import Metric, Organization, Subgroup, Target
from k12_metrics.periods import show
from k12_metrics.readings import Reading, read, trend
from k12_metrics.targets import service as targets

STABLE_SLOPE = 0.1  # a gap moving less than this (metric units per year) is called stable


def _gap_trend(series: list[dict]) -> dict:
    slope = trend([(int(s["period"][:4]) + 1, abs(s["gap"])) for s in series])
    if slope is None:
        word = "not enough years"
    elif slope < -STABLE_SLOPE:
        word = "narrowing"
    elif slope > STABLE_SLOPE:
        word = "widening"
    else:
        word = "stable"
    return {"direction": word, "size_change_per_year": slope, "series": series}


def _behind(metric: Metric, gap: float) -> float:
    """Positive when the subgroup is behind the reference in the metric's good direction."""
    return round(-gap if metric.direction != "lower_is_better" else gap, 4)


async def _gap_targets(session, principal: Principal, org: Organization, metric: str, reference: str) -> dict[str, dict]:
    if not principal.can_access_org(org.district_id, org.id):
        return {}
    rows = await session.scalars(select(Target).where(Target.org_id == org.id, Target.metric_code == metric,
                                                      Target.reference_subgroup_code == reference))
    found = {}
    for target in rows:
        out = await targets.out(session, principal, target)
        found.setdefault(target.subgroup_code, {"id": str(out.id), "target_value": out.target_value, "target_period": out.target_period,
                                                "status": out.status, "rag": out.rag, "latest": out.latest.model_dump() if out.latest else None})
    return found


async def equity_gaps(session, principal: Principal, org: Organization, metric: Metric, reference: str, year: int | None) -> dict:
    readings = await read(session, principal, org_ids=[org.id], metrics=[metric.code])
    by_year: dict[int, dict[str, Reading]] = defaultdict(dict)
    for r in readings:
        by_year[r.year][r.subgroup] = r
    usable_years = sorted(y for y, cells in by_year.items() if cells.get(reference) and cells[reference].value is not None)
    if year is None:
        year = usable_years[-1] if usable_years else None
    names = {s.code: s.name for s in await session.scalars(select(Subgroup))}
    base = {"org_id": str(org.id), "metric": {"code": metric.code, "name": metric.name, "unit": metric.unit, "direction": metric.direction},
            "reference": reference, "period": show(year) if year else None}
    if year is None or year not in usable_years:
        return {**base, "reference_value": None, "gaps": [], "suppressed": [],
                "notes": [f"No usable {reference} value for {metric.code}" + (f" in {show(year)}" if year else "")]}
    cells = by_year[year]
    gap_targets = await _gap_targets(session, principal, org, metric.code, reference)
    gaps, suppressed = [], []
    for subgroup, cell in sorted(cells.items()):
        if subgroup == reference:
            continue
        if cell.value is None:
            suppressed.append({"subgroup": subgroup, "name": names.get(subgroup, subgroup), "status": cell.status, "published_as": cell.published_as,
                               "lower": cell.lower, "upper": cell.upper})
            continue
        series = [{"period": show(y), "value": by_year[y][subgroup].value, "reference": by_year[y][reference].value,
                   "gap": round(by_year[y][subgroup].value - by_year[y][reference].value, 4)}
                  for y in usable_years if y <= year and by_year[y].get(subgroup) and by_year[y][subgroup].value is not None]
        gap = round(cell.value - cells[reference].value, 4)
        gaps.append({"subgroup": subgroup, "name": names.get(subgroup, subgroup), "value": cell.value, "n": cell.n, "gap": gap,
                     "behind_by": _behind(metric, gap), "trend": _gap_trend(series), "target": gap_targets.get(subgroup)})
    gaps.sort(key=lambda g: (-abs(g["gap"]), g["subgroup"]))
    return {**base, "reference_value": cells[reference].value, "reference_n": cells[reference].n, "gaps": gaps, "suppressed": suppressed,
            "notes": ["gap = subgroup value minus reference value; behind_by > 0 means the subgroup is behind"]}
