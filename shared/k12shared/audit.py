"""Append to the audit log: every write, and every read of private student-derived data."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import orjson
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
    """In the request's transaction: the entry stands or falls with the change it records."""
    entry = _entry(request, principal, action, resource, resource_id, district_id, detail)
    await session.execute(insert(AuditEntry).values(entry))


async def record_read_now(
    pool: Any,
    request: Request,
    principal: Principal,
    *,
    resource: str,
    resource_id: Any = None,
    district_id: uuid.UUID | None = None,
    detail: dict | None = None,
) -> None:
    """A read served without a transaction of its own (from memory), written at once in one statement
    on an asyncpg pool: a fraction of an ORM session's begin, insert and commit."""
    entry = _entry(request, principal, "read", resource, resource_id, district_id, detail)
    entry["detail"] = orjson.dumps(entry["detail"]).decode() if entry["detail"] is not None else None
    await pool.execute(_INSERT_ONE, *entry.values())


_COLUMNS = ("service", "actor", "actor_kind", "district_id", "action", "resource", "resource_id", "request_id", "client_ip", "detail")
_INSERT_ONE = (
    f"insert into {AuditEntry.__tablename__} ({', '.join(_COLUMNS)}) "
    "values ($1, $2, $3, $4, $5, $6, $7, $8, $9::inet, $10::jsonb)"
)


def _entry(request: Request, principal: Principal, action: str, resource: str, resource_id: Any, district_id: uuid.UUID | None, detail: dict | None) -> dict:
    values = (
        request.app.state.service_name,
        principal.subject,
        str(principal.kind),
        district_id,
        action,
        resource,
        str(resource_id) if resource_id is not None else None,
        getattr(request.state, "request_id", None) or request.scope.get("state", {}).get("request_id"),
        _client_ip(request),
        detail,
    )
    return dict(zip(_COLUMNS, values, strict=True))


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
