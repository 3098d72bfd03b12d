"""/api/v1/ingest/loads: where a district's numbers come from and whether they are current."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from k12shared.auth.deps import IngestReader
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.pagination import Page
from k12_ingest.loads import service
from k12_ingest.loads.schemas import DataLoadOut

router = APIRouter(prefix="/api/v1/ingest/loads", tags=["ingest jobs"], responses=PROBLEM_RESPONSES)


@router.get(
    "",
    operation_id="listDataLoads",
    summary="A district's latest data loads: state files that brought it data, and its SIS feeds",
    description=(
        "Newest first: each state file (upload or pull feed) that loaded observations of the district's organizations, "
        "with how many and how many were new or changed, and each of the district's SIS sources with its latest delivery. "
        "A file that failed loaded nothing, so it concerns no district; platform admins see failures at `/api/v1/ingest/jobs`."
    ),
)
async def list_data_loads(
    session: SessionDep,
    principal: IngestReader,
    district: Annotated[uuid.UUID | None, Query(description="The caller's district when omitted")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Page[DataLoadOut]:
    district_id = principal.acting_district(district)
    return Page(items=await service.latest_loads(session, district_id, limit))
