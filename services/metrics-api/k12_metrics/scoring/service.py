"""Database side of scoring: read observations, store scores (each computation a new row: the history)."""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from decimal import Decimal

import orjson
from sqlalchemy import any_, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, UUID, distinct_on

from k12shared.bulk import cyclic_gc_paused
from k12shared.db import driver_connection
from k12shared.models import Framework, Observation, Organization, Score
from k12_metrics.frameworks.router import load
from k12_metrics.frameworks.schemas import FrameworkDocument
from k12_metrics.periods import show
from k12_metrics.scoring.engine import Obs, score, years_with_data


log = logging.getLogger(__name__)


_DOCUMENTS: dict[tuple, FrameworkDocument] = {}


def document(framework: Framework) -> FrameworkDocument:
    """The parsed document; a framework version never changes once stored, so it is parsed once per process."""
    key = (framework.id, framework.code, framework.version)
    doc = _DOCUMENTS.get(key)
    if doc is None:
        if len(_DOCUMENTS) > 256:
            _DOCUMENTS.clear()
        doc = _DOCUMENTS[key] = FrameworkDocument.model_validate(framework.document)
    return doc


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


async def history(session, org_id: uuid.UUID, framework: Framework) -> list[dict]:
    """The latest stored score of each year, oldest first."""
    rows = await session.execute(
        select(Score.school_year, Score.points_earned, Score.points_possible, Score.classification, Score.result["percent_of_possible"],
               Score.result["components"], Score.computed_at)
        .where(Score.org_id == org_id, Score.framework_code == framework.code, Score.framework_version == framework.version)
        .ext(distinct_on(Score.school_year))
        .order_by(Score.school_year, Score.computed_at.desc(), Score.id.desc())
    )
    return [
        {"period": show(year), "points_earned": float(earned), "points_possible": float(possible), "percent_of_possible": percent,
         "classification": classification, "computed_at": computed_at.isoformat(),
         "components": [{k: c.get(k) for k in ("key", "value", "level", "points_earned", "points_possible")} for c in components or []]}
        for year, earned, possible, classification, percent, components, computed_at in rows
    ]


async def rescore_many(session, org_ids: list[uuid.UUID], framework_ref: str | None, years: list[int],
                       listed: int | None = None) -> tuple[list[dict], dict[str, float]]:
    """Score many orgs in one pass (one read per framework, one COPY of the results): what a
    state-wide load asks for. Each org is scored with the framework named, else its state's.
    Returns the first ``listed`` stored scores (all when None) and the counts and times."""
    cpu_started = time.process_time()
    orgs = (await session.execute(
        select(Organization.id, Organization.district_id, Organization.state_code).where(Organization.id == any_(_uuid_array(org_ids)))
    )).all()
    by_framework: dict[uuid.UUID, tuple[Framework, list]] = {}
    loaded: dict[str | None, Framework] = {}
    for org in orgs:
        key = framework_ref if framework_ref else org.state_code
        if key not in loaded:
            loaded[key] = await load(session, framework_ref, org.state_code)
        framework = loaded[key]
        by_framework.setdefault(framework.id, (framework, []))[1].append(org)
    stored: list[dict] = []
    timings = {"read_s": 0.0, "score_s": 0.0, "store_s": 0.0, "stored": 0}
    for framework, members in by_framework.values():
        stored.extend(await _score_and_store(session, framework, members, years, timings, None if listed is None else listed - len(stored)))
    timings["service_cpu_s"] = time.process_time() - cpu_started
    return stored, {k: round(v, 3) for k, v in timings.items()}


def _uuid_array(ids: list[uuid.UUID]):
    return bindparam("ids", value=list(ids), type_=ARRAY(UUID(as_uuid=True)), expanding=False)


# One read of every observation a framework needs, for many orgs (asyncpg directly: ~100k rows).
_BULK_READ = """
select org_id, metric_code, subgroup_code, school_year, status, value::float8, lower::float8, denominator::float8
from observations
where org_id = any($1::uuid[])
  and (metric_code, subgroup_code) in (select * from unnest($2::text[], $3::text[]))
  and ($4::int[] is null or school_year = any($4::int[]))
"""


async def _score_and_store(session, framework: Framework, orgs: list, years: list[int], timings: dict[str, float],
                           listed: int | None) -> list[dict]:
    started = time.perf_counter()
    doc = document(framework)
    pairs = sorted({(i.metric, i.subgroup) for c in doc.components for i in c.inputs})
    connection = await driver_connection(session)
    records = await connection.fetch(_BULK_READ, [o.id for o in orgs], [m for m, _ in pairs], [s for _, s in pairs], years or None)
    grouped: dict[uuid.UUID, list[Obs]] = defaultdict(list)
    for org_id, metric, subgroup, year, status, value, lower, n in records:
        grouped[org_id].append(Obs(metric, subgroup, year, status, value, lower, n))
    rows, stored, asked = [], [], set(years)
    read_done = time.perf_counter()
    with cyclic_gc_paused():  # tens of thousands of small result dicts
        for org in orgs:
            observations = grouped.get(org.id, [])
            with_data = years_with_data(doc, observations)  # a year asked for without data has no score to keep
            for year in [y for y in with_data if y in asked] if asked else with_data:
                result = score(doc, observations, year, explain=False)
                rows.append((org.id, org.district_id, framework.code, framework.version, year, Decimal(str(result["points_earned"])),
                             Decimal(str(result["points_possible"])), result["classification"], orjson.dumps(result).decode()))
                if listed is None or len(stored) < listed:
                    stored.append({"org_id": str(org.id), "framework": f"{framework.code}@{framework.version}", "period": show(year),
                                   "points_earned": result["points_earned"], "points_possible": result["points_possible"],
                                   "classification": result["classification"]})
    scored = time.perf_counter()
    if rows:
        await connection.copy_records_to_table(
            "scores", records=rows, columns=["org_id", "district_id", "framework_code", "framework_version", "school_year",
                                             "points_earned", "points_possible", "classification", "result"])
    timings["read_s"] += read_done - started
    timings["score_s"] += scored - read_done
    timings["store_s"] += time.perf_counter() - scored
    timings["stored"] += len(rows)
    log.info("scored", extra={"framework": f"{framework.code}@{framework.version}", "scores": len(rows), **timings})
    return stored
