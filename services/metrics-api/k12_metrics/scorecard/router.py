from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from k12shared import audit
from k12shared.auth import MetricsReader
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12_metrics.access import org_for_district_user
from k12_metrics.periods import parse_one
from k12_metrics.scorecard.service import scorecard

router = APIRouter(prefix="/api/v1/orgs/{org_id}", tags=["scorecard"], responses=PROBLEM_RESPONSES)


@router.get("/scorecard", operation_id="getScorecard",
            summary="Balanced scorecard: each metric's latest value, target, status and trend, by perspective")
async def get_scorecard(org_id: uuid.UUID, session: SessionDep, principal: MetricsReader, request: Request,
                        period: Annotated[str | None, Query(description="Up to this school year; default: the latest of each metric")] = None) -> dict[str, Any]:
    org = await org_for_district_user(session, principal, org_id)
    result = await scorecard(session, principal, org, parse_one(period) if period else None)
    await audit.record(session, request, principal, action="read", resource="scorecard", resource_id=org.id, district_id=org.district_id)
    return result
