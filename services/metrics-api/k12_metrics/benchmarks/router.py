from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from k12shared import audit
from k12shared.auth import MetricsReader
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES, Unprocessable
from k12_metrics.benchmarks.service import benchmarks
from k12_metrics.equity.router import org_and_metric
from k12_metrics.periods import parse_one

router = APIRouter(prefix="/api/v1/orgs/{org_id}", tags=["benchmarks"], responses=PROBLEM_RESPONSES)


@router.get("/benchmarks", operation_id="getBenchmarks", summary="Percentile among peers, with the peer median and quartiles")
async def get_benchmarks(
    org_id: uuid.UUID, session: SessionDep, principal: MetricsReader, request: Request,
    metric: Annotated[str, Query(max_length=64, examples=["graduation_rate_4yr"])],
    subgroup: Annotated[str, Query(max_length=40)] = "all",
    period: Annotated[str | None, Query(description="School year like 2022-23; default: the latest with data")] = None,
    peers: Annotated[Literal["state_type", "enrollment", "poverty", "list"], Query(
        description="state_type: same state and kind (default); enrollment / poverty: also the same band; list: the orgs named in peer")] = "state_type",
    peer: Annotated[list[uuid.UUID] | None, Query(max_length=500, description="Peer organizations, with peers=list")] = None,
) -> dict[str, Any]:
    org, found = await org_and_metric(session, org_id, metric)
    if peers == "list" and not peer:
        raise Unprocessable("Name the peers with peer=<org id> when peers=list", field="peer")
    result = await benchmarks(session, principal, org, found, subgroup, parse_one(period) if period else None, peers, peer or [])
    if found.privacy == "private":
        await audit.record(session, request, principal, action="read", resource="benchmarks", resource_id=org.id, district_id=org.district_id)
    return result
