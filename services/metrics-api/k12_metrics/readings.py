"""Observations as the outputs may show them: what the caller may read, private small cells suppressed."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from k12shared.auth.principal import Principal
from k12shared.models import Observation
from k12_metrics.access import visible_observations
from k12_metrics.suppression import hidden_cells, key_of


@dataclass(frozen=True)
class Reading:
    org_id: uuid.UUID
    metric: str
    subgroup: str
    year: int
    status: str
    value: float | None  # set only when exact and shown
    n: float | None
    published_as: str | None
    lower: float | None
    upper: float | None
    visibility: str


def _num(v) -> float | None:
    return None if v is None else float(v)


def reading_of(row: Observation, hidden: bool) -> Reading:
    if hidden:
        return Reading(row.org_id, row.metric_code, row.subgroup_code, row.school_year, "suppressed", None, None, None, None, None, row.visibility)
    return Reading(row.org_id, row.metric_code, row.subgroup_code, row.school_year, row.status,
                   _num(row.value) if row.status == "exact" else None, _num(row.denominator), row.published_as,
                   _num(row.lower), _num(row.upper), row.visibility)


async def read(session, principal: Principal, *, org_ids: Iterable[uuid.UUID], metrics: Iterable[str] | None = None,
               subgroups: Iterable[str] | None = None, years: tuple[int, int] | None = None) -> list[Reading]:
    stmt = select(Observation).where(visible_observations(principal), Observation.org_id.in_(list(org_ids)))
    if metrics is not None:
        stmt = stmt.where(Observation.metric_code.in_(list(metrics)))
    if subgroups is not None:
        stmt = stmt.where(Observation.subgroup_code.in_(list(subgroups)))
    if years is not None:
        stmt = stmt.where(Observation.school_year.between(*years))
    rows = list(await session.scalars(stmt))
    hidden = await hidden_cells(session, rows)
    return [reading_of(r, key_of(r) in hidden) for r in rows]


def trend(series: list[tuple[int, float]]) -> float | None:
    """Least-squares slope per year, or None with fewer than two years."""
    if len(series) < 2:
        return None
    slope, _ = statistics.linear_regression([float(y) for y, _ in series], [v for _, v in series])
    return round(slope, 4)
