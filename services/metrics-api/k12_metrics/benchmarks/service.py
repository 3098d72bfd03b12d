"""Where an organization stands among its peers on one metric: percentile, median and quartiles."""

from __future__ import annotations

import bisect
import statistics
import uuid

from sqlalchemy import select

from k12shared.auth.principal import Principal
from k12shared.models import Metric, Observation, Organization
from k12_metrics.periods import show
from k12_metrics.readings import Reading, read

# Band edges (lower bounds) used to form peer groups; an org falls in the band of its latest value.
ENROLLMENT_BANDS = (0, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000)
POVERTY_BANDS = (0, 25, 50, 75)  # percent of students economically disadvantaged


def estimate(metric: Metric, r: Reading) -> tuple[float | None, bool]:
    """The value to rank by, and whether it is an estimate (midpoint of a published range or bound)."""
    if r.value is not None:
        return r.value, False
    low = r.lower if r.lower is not None else (float(metric.min_value) if metric.min_value is not None else None)
    high = r.upper if r.upper is not None else (float(metric.max_value) if metric.max_value is not None else None)
    if r.status in ("range", "lower_bound", "upper_bound") and low is not None and high is not None:
        return (low + high) / 2, True
    return None, False


def band(edges: tuple[float, ...], value: float | None) -> tuple[float, float | None] | None:
    if value is None:
        return None
    i = bisect.bisect_right(edges, value) - 1
    return edges[max(i, 0)], edges[i + 1] if i + 1 < len(edges) else None


async def _latest_enrollment(session, org_ids: list[uuid.UUID], year: int) -> dict[uuid.UUID, dict[str, float]]:
    """Latest public enrollment counts (all, econ_disadv) per org, up to ``year``."""
    rows = await session.execute(
        select(Observation.org_id, Observation.subgroup_code, Observation.value)
        .where(Observation.metric_code == "enrollment", Observation.subgroup_code.in_(("all", "econ_disadv")),
               Observation.status == "exact", Observation.visibility == "public", Observation.org_id.in_(org_ids),
               Observation.school_year <= year)
        .order_by(Observation.school_year)
    )
    out: dict[uuid.UUID, dict[str, float]] = {}
    for org_id, subgroup, value in rows:
        out.setdefault(org_id, {})[subgroup] = float(value)
    return out


def _poverty(counts: dict[str, float] | None, org: Organization) -> float | None:
    if counts and counts.get("all") and "econ_disadv" in counts:
        return round(100 * counts["econ_disadv"] / counts["all"], 1)
    value = (org.attributes or {}).get("poverty_pct")
    return float(value) if isinstance(value, (int, float)) else None


def _enrollment(counts: dict[str, float] | None, org: Organization) -> float | None:
    if counts and counts.get("all"):
        return counts["all"]
    value = (org.attributes or {}).get("enrollment")
    return float(value) if isinstance(value, (int, float)) else None


async def peer_orgs(session, org: Organization, peers: str, chosen: list[uuid.UUID], year: int) -> tuple[list[Organization], dict]:
    if peers == "list":
        rows = list(await session.scalars(select(Organization).where(Organization.id.in_([*chosen, org.id]))))
        return rows, {"kind": "list", "chosen": len(chosen)}
    rows = list(await session.scalars(select(Organization).where(Organization.state_code == org.state_code, Organization.type == org.type)))
    described = {"kind": peers, "state": org.state_code, "type": org.type}
    if peers == "state_type":
        return rows, described
    counts = await _latest_enrollment(session, [o.id for o in rows], year)
    measure, edges = (_enrollment, ENROLLMENT_BANDS) if peers == "enrollment" else (_poverty, POVERTY_BANDS)
    mine = band(edges, measure(counts.get(org.id), org))
    if mine is None:
        return [org], {**described, "band": None, "note": f"no {peers} figure for this organization: no band to compare within"}
    same = [o for o in rows if band(edges, measure(counts.get(o.id), o)) == mine]
    return same, {**described, "band": {"from": mine[0], "below": mine[1]}}


def _rank(metric: Metric, value: float, values: list[float]) -> tuple[float, int]:
    """Percentile (share of peers below, ties half) and rank (1 = best in the metric's direction)."""
    below = sum(1 for v in values if v < value)
    equal = sum(1 for v in values if v == value)
    percentile = round(100 * (below + 0.5 * equal) / len(values), 1)
    better = sum(1 for v in values if (v > value if metric.direction != "lower_is_better" else v < value))
    return percentile, better + 1


async def benchmarks(session, principal: Principal, org: Organization, metric: Metric, subgroup: str, year: int | None,
                     peers: str, chosen: list[uuid.UUID]) -> dict:
    if year is None:
        own = [r for r in await read(session, principal, org_ids=[org.id], metrics=[metric.code], subgroups=[subgroup])
               if estimate(metric, r)[0] is not None]
        year = max((r.year for r in own), default=None)
    base = {"org_id": str(org.id), "metric": {"code": metric.code, "name": metric.name, "direction": metric.direction},
            "subgroup": subgroup, "period": show(year) if year else None}
    if year is None:
        return {**base, "peers": None, "value": None, "notes": ["No usable value for this organization"]}
    group, described = await peer_orgs(session, org, peers, chosen, year)
    readings = await read(session, principal, org_ids=[o.id for o in group], metrics=[metric.code], subgroups=[subgroup], years=(year, year))
    values, estimated, mine = [], 0, None
    for r in readings:
        value, is_estimate = estimate(metric, r)
        if value is None:
            continue
        values.append(value)
        estimated += is_estimate
        if r.org_id == org.id:
            mine = {"value": value, "estimated": is_estimate, "status": r.status, "published_as": r.published_as, "n": r.n}
    out = {**base, "peer_group": {**described, "organizations": len(group), "with_value": len(values), "estimated_from_ranges": estimated}}
    if not values:
        return {**out, "value": mine, "percentile": None, "notes": ["No peer has a usable value"]}
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values[0],) * 3
    out.update(median=round(median, 4), quartiles={"q1": round(q1, 4), "q3": round(q3, 4)},
               min=min(values), max=max(values), value=mine)
    if mine is not None:
        out["percentile"], out["rank"] = _rank(metric, mine["value"], values)
    else:
        out["percentile"], out["rank"] = None, None
    out["notes"] = ["percentile: share of peers with a lower value (ties count half); rank 1 is best in the metric's direction",
                    "published ranges and bounds (e.g. 90-94, GE95) ranked at their midpoint"]
    return out
