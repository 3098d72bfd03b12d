from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from k12shared import audit
from k12shared.auth import MetricsReader, MetricsWriter
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import Target
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_metrics.targets import service
from k12_metrics.targets.schemas import TargetIn, TargetOut, TargetPatch

router = APIRouter(prefix="/api/v1/targets", tags=["targets"], responses=PROBLEM_RESPONSES)


@router.post("", operation_id="createTarget", status_code=status.HTTP_201_CREATED,
             summary="A target for an org's metric and subgroup, or for a gap, with its trajectory")
async def create_target(data: TargetIn, session: SessionDep, principal: MetricsWriter, request: Request) -> TargetOut:
    target = await service.create(session, principal, data)
    await audit.record(session, request, principal, action="create", resource="target", resource_id=target.id, district_id=target.district_id)
    return await service.out(session, principal, target)


@router.get("", operation_id="listTargets", summary="Targets of the caller's district, each judged against its trajectory")
async def list_targets(session: SessionDep, principal: MetricsReader, org: uuid.UUID | None = None, metric: str | None = None,
                       subgroup: str | None = None, gaps: bool | None = None, cursor: CursorParam = None, limit: LimitParam = 50) -> Page[TargetOut]:
    stmt = service.list_query(principal, org=org, metric=metric, subgroup=subgroup, gaps=gaps)
    rows, next_cursor = await paginate(session, stmt, [Target.id], cursor=cursor, limit=limit)
    return Page(items=[await service.out(session, principal, t) for t in rows], next_cursor=next_cursor)


@router.get("/{target_id}", operation_id="getTarget", summary="One target: each period's actual against the trajectory, status and RAG")
async def get_target(target_id: uuid.UUID, session: SessionDep, principal: MetricsReader) -> TargetOut:
    return await service.out(session, principal, await service.get_visible(session, principal, target_id))


@router.patch("/{target_id}", operation_id="updateTarget", summary="Change a target's values, periods, trajectory or tolerance")
async def update_target(target_id: uuid.UUID, data: TargetPatch, session: SessionDep, principal: MetricsWriter, request: Request) -> TargetOut:
    target = await service.patch(session, await service.get_visible(session, principal, target_id), data)
    await audit.record(session, request, principal, action="update", resource="target", resource_id=target.id, district_id=target.district_id)
    return await service.out(session, principal, target)


@router.delete("/{target_id}", operation_id="deleteTarget", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a target")
async def delete_target(target_id: uuid.UUID, session: SessionDep, principal: MetricsWriter, request: Request) -> Response:
    target = await service.get_visible(session, principal, target_id)
    await session.delete(target)
    await session.flush()
    await audit.record(session, request, principal, action="delete", resource="target", resource_id=target_id, district_id=target.district_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
