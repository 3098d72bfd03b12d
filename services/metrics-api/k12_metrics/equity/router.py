from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from k12shared import audit
from k12shared.auth import MetricsReader
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES, NotFound, Unprocessable
from k12shared.models import Metric, Organization, Subgroup
from k12_metrics.equity.service import equity_gaps
from k12_metrics.periods import parse_one

router = APIRouter(prefix="/api/v1/orgs/{org_id}", tags=["equity"], responses=PROBLEM_RESPONSES)


async def org_and_metric(session, org_id: uuid.UUID, metric: str) -> tuple[Organization, Metric]:
    org = await session.get(Organization, org_id)
    if org is None:
        raise NotFound("Organization not found")
    found = await session.get(Metric, metric)
    if found is None:
        raise Unprocessable(f"Unknown metric '{metric}'", field="metric")
    return org, found


@router.get("/equity-gaps", operation_id="getEquityGaps",
            summary="Each subgroup against a reference group: the gap, its trend, largest first; suppressed groups listed")
async def get_equity_gaps(org_id: uuid.UUID, session: SessionDep, principal: MetricsReader, request: Request,
                          metric: Annotated[str, Query(max_length=64, examples=["graduation_rate_4yr"])],
                          reference: Annotated[str, Query(max_length=40, description="The reference group (all students by default)")] = "all",
                          period: Annotated[str | None, Query(description="School year like 2022-23; default: the latest with data")] = None) -> dict[str, Any]:
    org, found = await org_and_metric(session, org_id, metric)
    if await session.get(Subgroup, reference) is None:
        raise Unprocessable(f"Unknown subgroup '{reference}'", field="reference")
    result = await equity_gaps(session, principal, org, found, reference, parse_one(period) if period else None)
    if found.privacy == "private":
        await audit.record(session, request, principal, action="read", resource="equity-gaps", resource_id=org.id, district_id=org.district_id)
    return result
