from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from k12shared import audit
from k12shared.auth import MetricsReader, PlatformAdmin, Role, requires
from k12shared.auth.principal import Principal
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import Organization, OrgType
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_metrics.orgs import service
from k12_metrics.orgs.schemas import OrgIn, OrgOut, OrgPatch, OrgResolveRequest, OrgResolveResult

router = APIRouter(prefix="/api/v1/orgs", tags=["organizations"], responses=PROBLEM_RESPONSES)
internal = APIRouter(prefix="/internal/orgs", tags=["internal"], include_in_schema=False)


@router.get("", operation_id="listOrgs", summary="Find organizations by NCES id, state id, type or name")
async def list_orgs(
    session: SessionDep,
    _: MetricsReader,
    nces_id: Annotated[str | None, Query(max_length=12)] = None,
    state_id: Annotated[str | None, Query(max_length=40)] = None,
    type: OrgType | None = None,
    state: Annotated[str | None, Query(min_length=2, max_length=2, description="Two-letter state code")] = None,
    parent: uuid.UUID | None = None,
    name: Annotated[str | None, Query(max_length=100, description="Part of the name")] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[OrgOut]:
    stmt = service.list_query(nces_id=nces_id, state_id=state_id, type_=type, state_code=state, parent_id=parent, name=name)
    rows, next_cursor = await paginate(session, stmt, [Organization.id], cursor=cursor, limit=limit)
    return Page(items=[OrgOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{org_id}", operation_id="getOrg", summary="One organization")
async def get_org(org_id: uuid.UUID, session: SessionDep, _: MetricsReader) -> OrgOut:
    return OrgOut.model_validate(await service.get(session, org_id))


@router.post("", operation_id="createOrg", status_code=status.HTTP_201_CREATED, summary="Create an organization (platform admin)")
async def create_org(data: OrgIn, session: SessionDep, principal: PlatformAdmin, request: Request) -> OrgOut:
    org = await service.create(session, data)
    await audit.record(session, request, principal, action="create", resource="organization", resource_id=org.id, district_id=org.district_id)
    return OrgOut.model_validate(org)


@router.patch("/{org_id}", operation_id="updateOrg", summary="Change an organization (platform admin)")
async def update_org(org_id: uuid.UUID, data: OrgPatch, session: SessionDep, principal: PlatformAdmin, request: Request) -> OrgOut:
    org = await service.patch(session, await service.get(session, org_id), data)
    await audit.record(session, request, principal, action="update", resource="organization", resource_id=org.id, district_id=org.district_id)
    return OrgOut.model_validate(org)


@internal.post("/resolve", operation_id="resolveOrgs")
async def resolve_orgs(
    body: OrgResolveRequest, session: SessionDep, _: Annotated[Principal, requires(None, Role.service)]
) -> OrgResolveResult:
    ids, created = await service.resolve_many(session, body.items)
    return OrgResolveResult(ids=ids, created=created)
