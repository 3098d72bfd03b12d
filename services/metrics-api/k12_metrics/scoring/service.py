"""Database side of scoring: read observations, store scores (each computation a new row: the history)."""

from __future__ import annotations

import uuid

from sqlalchemy import select, tuple_

from k12shared.models import Framework, Observation, Organization, Score
from k12_metrics.frameworks.schemas import FrameworkDocument
from k12_metrics.periods import show
from k12_metrics.scoring.engine import Obs, score, years_with_data


def document(framework: Framework) -> FrameworkDocument:
    return FrameworkDocument.model_validate(framework.document)


def _num(v) -> float | None:
    return None if v is None else float(v)


async def observations_for(session, org_id: uuid.UUID, doc: FrameworkDocument) -> list[Obs]:
    pairs = list({(i.metric, i.subgroup) for c in doc.components for i in c.inputs})
    rows = await session.scalars(
        select(Observation).where(Observation.org_id == org_id, tuple_(Observation.metric_code, Observation.subgroup_code).in_(pairs))
    )
    return [Obs(r.metric_code, r.subgroup_code, r.school_year, r.status, _num(r.value), _num(r.lower), _num(r.denominator)) for r in rows]


def latest_year(doc: FrameworkDocument, observations: list[Obs]) -> int | None:
    years = years_with_data(doc, observations)
    return years[-1] if years else None


async def store(session, org: Organization, framework: Framework, result: dict, year: int) -> Score:
    row = Score(org_id=org.id, district_id=org.district_id, framework_code=framework.code, framework_version=framework.version,
                school_year=year, points_earned=result["points_earned"], points_possible=result["points_possible"],
                classification=result["classification"], result=result)
    session.add(row)
    await session.flush()
    return row


async def history(session, org_id: uuid.UUID, framework: Framework) -> list[dict]:
    """The latest stored score of each year, oldest first."""
    rows = await session.scalars(
        select(Score).where(Score.org_id == org_id, Score.framework_code == framework.code, Score.framework_version == framework.version)
        .order_by(Score.school_year, Score.computed_at.desc(), Score.id.desc())
    )
    latest: dict[int, Score] = {}
    for row in rows:
        latest.setdefault(row.school_year, row)
    return [
        {"period": show(y), "points_earned": float(s.points_earned), "points_possible": float(s.points_possible),
         "percent_of_possible": s.result.get("percent_of_possible"), "classification": s.classification, "computed_at": s.computed_at.isoformat()}
        for y, s in sorted(latest.items())
    ]


async def rescore(session, org: Organization, framework: Framework, years: list[int] | None) -> list[Score]:
    doc = document(framework)
    observations = await observations_for(session, org.id, doc)
    wanted = years or years_with_data(doc, observations)
    return [await store(session, org, framework, score(doc, observations, y), y) for y in wanted]
