from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from k12shared import audit
from k12shared.auth import MetricsReader, MetricsWriter, Role, requires
from k12shared.auth.principal import Principal
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES, NotFound
from k12_metrics.access import org_for_district_user
from k12_metrics.frameworks.router import load
from k12_metrics.periods import parse_one
from k12_metrics.scoring import engine, service

router = APIRouter(prefix="/api/v1/orgs/{org_id}/scores", tags=["scores"], responses=PROBLEM_RESPONSES)
internal = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)

FrameworkParam = Annotated[str | None, Query(description="Framework code or code@version; default: the org's state framework (MSIP)")]
PeriodParam = Annotated[str | None, Query(description="School year like 2022-23; default: the latest with data")]


async def _context(session, principal, org_id, framework, period):
    org = await org_for_district_user(session, principal, org_id)
    fw = await load(session, framework, org.state_code)
    doc = service.document(fw)
    observations = await service.observations_for(session, org.id, doc)
    year = parse_one(period) if period else service.latest_year(doc, observations)
    if year is None:
        raise NotFound("No observations this framework reads for this organization", field="period")
    return org, fw, doc, observations, year


@router.get("", operation_id="getScore", summary="The accountability score, every point explained, with its history")
async def get_score(org_id: uuid.UUID, session: SessionDep, principal: MetricsReader, request: Request,
                    framework: FrameworkParam = None, period: PeriodParam = None) -> dict[str, Any]:
    org, fw, doc, observations, year = await _context(session, principal, org_id, framework, period)
    result = engine.score(doc, observations, year)
    await audit.record(session, request, principal, action="read", resource="score", resource_id=org.id, district_id=org.district_id)
    return {"org_id": str(org.id), **result, "history": await service.history(session, org.id, fw)}


@router.get("/risk", operation_id="getScoreRisk", summary="Per component: how far from losing or gaining a level, in points, percentage points and students")
async def get_risk(org_id: uuid.UUID, session: SessionDep, principal: MetricsReader,
                   framework: FrameworkParam = None, period: PeriodParam = None) -> dict[str, Any]:
    org, fw, doc, observations, year = await _context(session, principal, org_id, framework, period)
    return {"org_id": str(org.id), **engine.risk(doc, observations, year)}


class Change(BaseModel):
    metric: str = Field(max_length=64)
    subgroup: str = Field(default="all", max_length=40)
    value: float


class WhatIf(BaseModel):
    framework: str | None = None
    period: str | None = None
    changes: list[Change] = Field(max_length=100)


@router.post("/what-if", operation_id="scoreWhatIf", summary="Re-score with changed values; nothing is stored")
async def what_if(org_id: uuid.UUID, body: WhatIf, session: SessionDep, principal: MetricsReader, request: Request) -> dict[str, Any]:
    org, fw, doc, observations, year = await _context(session, principal, org_id, body.framework, body.period)
    await audit.record(session, request, principal, action="read", resource="score_what_if", resource_id=org.id, district_id=org.district_id)
    changed = engine.apply_changes(observations, year, [(c.metric, c.subgroup, c.value) for c in body.changes])
    return {"org_id": str(org.id), **engine.score(doc, changed, year), "changes": [c.model_dump() for c in body.changes], "stored": False}


class ComputeRequest(BaseModel):
    framework: str | None = None
    periods: list[str] = Field(default_factory=list, max_length=50, description="Empty: every year with data")


@router.post("/compute", operation_id="computeScores", summary="Compute and store the org's scores now (kept as history)")
async def compute(org_id: uuid.UUID, body: ComputeRequest, session: SessionDep, principal: MetricsWriter, request: Request) -> dict[str, Any]:
    org = await org_for_district_user(session, principal, org_id)
    stored, _ = await service.rescore_many(session, [org.id], body.framework, [parse_one(p, "periods") for p in body.periods])
    await audit.record(session, request, principal, action="compute", resource="score", resource_id=org.id, district_id=org.district_id)
    return {"org_id": str(org.id), "stored": stored}


class RescoreRequest(BaseModel):
    org_ids: list[uuid.UUID] = Field(min_length=1, max_length=100_000)
    school_years: list[str | int] = Field(default_factory=list, description="Empty: every year with data")
    framework: str | None = None


STORED_LISTED = 1000


@internal.post("/rescore", operation_id="rescore")
async def rescore(body: RescoreRequest, session: SessionDep, _: Annotated[Principal, requires(None, Role.service)]) -> dict[str, Any]:
    """Score the orgs (their state's framework, or the one named) and store the results as history."""
    years = [parse_one(str(y), "school_years") for y in body.school_years]
    stored, timings = await service.rescore_many(session, body.org_ids, body.framework, years, listed=STORED_LISTED)
    return {"stored_count": int(timings.pop("stored")), "stored": stored, "listed": len(stored), "timings": timings}
