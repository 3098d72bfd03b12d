"""Append to the audit log: every write, and every read of private student-derived data."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from fastapi import Request
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth.principal import Principal
from k12shared.models import AuditEntry


async def record(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    *,
    action: str,
    resource: str,
    resource_id: Any = None,
    district_id: uuid.UUID | None = None,
    detail: dict | None = None,
) -> None:
    await session.execute(
        insert(AuditEntry).values(
            service=request.app.state.service_name,
            actor=principal.subject,
            actor_kind=str(principal.kind),
            district_id=district_id,
            action=action,
            resource=resource,
            resource_id=str(resource_id) if resource_id is not None else None,
            request_id=getattr(request.state, "request_id", None) or request.scope.get("state", {}).get("request_id"),
            client_ip=_client_ip(request),
            detail=detail,
        )
    )


def _client_ip(request: Request) -> str | None:
    """The caller's address as the gateway saw it, else the peer's.

    The gateway appends the address it saw to X-Forwarded-For; anything before it came from the
    caller and could be forged, so only the last entry counts.
    """
    candidates = [request.headers.get("x-forwarded-for", "").split(",")[-1].strip()]
    if request.client:
        candidates.append(request.client.host)
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
