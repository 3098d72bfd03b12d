"""Append to the audit log: every write, and every read of private student-derived data."""

from __future__ import annotations

import asyncio
import functools
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


class ReadAuditLog:
    """Reads served without a transaction of their own (from memory), audited on an asyncpg pool in group
    commits: each read waits until its entry is stored, as with a statement of its own, and the entries of
    reads arriving while a statement is under way are stored together by the next one. Under load that is
    one statement for many reads instead of one each (a pool checkout, a round trip and a commit apiece)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._pending: list[tuple[tuple, asyncio.Future[None]]] = []
        self._writer: asyncio.Task | None = None

    async def record(
        self,
        request: Request,
        principal: Principal,
        *,
        resource: str,
        resource_id: Any = None,
        district_id: uuid.UUID | None = None,
        detail: dict | None = None,
    ) -> None:
        entry = _entry(request, principal, "read", resource, resource_id, district_id, detail)
        entry["detail"] = orjson.dumps(entry["detail"]).decode() if entry["detail"] is not None else None
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((tuple(entry.values()), stored))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_pending())
        await stored

    async def _write_pending(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self._pool.execute(_INSERT_MANY, *(list(column) for column in zip(*(row for row, _ in batch))))
                except Exception as exc:  # each waiting read fails as its own insert would have
                    _settle(batch, exc)
                else:
                    _settle(batch, None)
                finally:
                    for _, stored in batch:  # only if this writer itself was cancelled (shutdown)
                        stored.cancel()
        finally:
            self._writer = None


def _settle(batch: list[tuple[tuple, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, stored in batch:
        if stored.done():  # the read was cancelled (its caller went away) while its entry was being stored
            continue
        if error is None:
            stored.set_result(None)
        else:
            stored.set_exception(error)


_COLUMNS = ("service", "actor", "actor_kind", "district_id", "action", "resource", "resource_id", "request_id", "client_ip", "detail")
_ARRAY_TYPES = ("text", "text", "text", "uuid", "text", "text", "text", "text", "inet", "jsonb")
_INSERT_MANY = (
    f"insert into {AuditEntry.__tablename__} ({', '.join(_COLUMNS)}) "
    f"select * from unnest({', '.join(f'${n}::{kind}[]' for n, kind in enumerate(_ARRAY_TYPES, start=1))})"
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
    return next(filter(None, map(_canonical_ip, candidates)), None)


@functools.lru_cache(maxsize=4096)
def _canonical_ip(text: str) -> str | None:
    """An address as PostgreSQL's inet will read it, or None; parsed once per address (callers come back)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
