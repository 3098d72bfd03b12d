from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from k12shared.auth import Principal, Role, Scope, requires
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.pagination import CursorParam, LimitParam, Page
from k12_gateway.audit import service
from k12_gateway.audit.schemas import AuditEntryOut

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=PROBLEM_RESPONSES)
AuditReader = Annotated[Principal, requires(Scope.audit_read, Role.district_admin)]
Text = Annotated[str | None, Query(max_length=200)]


@router.get("", operation_id="listAuditEntries", summary="The district's audit log",
    description=(
        "Every write and every read of private student-derived data in the district, newest first: who "
        "(`actor`), what (`action`, `resource`, `resource_id`), when (`at`), from where (`client_ip`, "
        "`service`). District admins (scope `audit:read`); a platform admin names the `district_id`. "
        "Filters combine with AND; `since` is inclusive, `until` exclusive."
    ),
)
async def list_audit_entries(
    session: SessionDep,
    principal: AuditReader,
    district_id: Annotated[uuid.UUID | None, Query(description="Defaults to the caller's district")] = None,
    actor: Text = None,
    action: Text = None,
    resource: Text = None,
    resource_id: Text = None,
    service_name: Annotated[str | None, Query(alias="service", max_length=32)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[AuditEntryOut]:
    district = principal.acting_district(district_id)
    filters = service.AuditFilters(actor=actor, action=action, resource=resource, resource_id=resource_id, service=service_name, since=since, until=until)
    rows, next_cursor = await service.newest_first(session, service.district_query(district, filters), cursor=cursor, limit=limit)
    return Page(items=[AuditEntryOut.model_validate(r) for r in rows], next_cursor=next_cursor)
