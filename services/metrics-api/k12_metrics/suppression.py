"""Small-n suppression applied to every output that carries a district's private aggregates."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select, tuple_

from k12shared.models import Observation, Organization
from k12shared.privacy import cells_to_hide, threshold_for
from k12shared.settings import get_settings

CellKey = tuple[uuid.UUID, str, int, str]  # org, metric, school year, subgroup


async def hidden_cells(session, rows: Iterable[Observation]) -> set[CellKey]:
    """Keys of the private cells among ``rows`` to hide, judged against every sibling cell of their table
    (same org, metric and year), so a hidden cell cannot be derived from the others."""
    tables = {(r.org_id, r.metric_code, r.school_year) for r in rows if r.visibility == "district"}
    if not tables:
        return set()
    siblings = await session.execute(
        select(Observation.org_id, Observation.metric_code, Observation.school_year, Observation.subgroup_code,
               Observation.denominator, Organization.state_code)
        .join(Organization, Organization.id == Observation.org_id)
        .where(Observation.visibility == "district",
               tuple_(Observation.org_id, Observation.metric_code, Observation.school_year).in_(list(tables)))
    )
    cells: dict[tuple, dict[str, float | None]] = defaultdict(dict)
    states: dict[tuple, str] = {}
    for org_id, metric, year, subgroup, n, state in siblings:
        cells[(org_id, metric, year)][subgroup] = None if n is None else float(n)
        states[(org_id, metric, year)] = state
    settings = get_settings()
    hidden: set[CellKey] = set()
    for key, table in cells.items():
        hidden.update((*key, subgroup) for subgroup in cells_to_hide(table, threshold_for(settings, states[key])))
    return hidden


def key_of(row: Observation) -> CellKey:
    return (row.org_id, row.metric_code, row.school_year, row.subgroup_code)
