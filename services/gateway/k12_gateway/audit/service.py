"""Reading the audit log: one district's entries, newest first, with filters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.errors import BadRequest
from k12shared.models import AuditEntry
from k12shared.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    resource: str | None = None
    resource_id: str | None = None
    service: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def district_query(district_id: uuid.UUID, filters: AuditFilters) -> Select:
    stmt = select(AuditEntry).where(AuditEntry.district_id == district_id)
    for column, value in (
        (AuditEntry.actor, filters.actor),
        (AuditEntry.action, filters.action),
        (AuditEntry.resource, filters.resource),
        (AuditEntry.resource_id, filters.resource_id),
        (AuditEntry.service, filters.service),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.since is not None:
        stmt = stmt.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEntry.at < filters.until)
    return stmt


async def newest_first(session: AsyncSession, stmt: Select, *, cursor: str | None, limit: int) -> tuple[list[AuditEntry], str | None]:
    """Keyset pages by descending id (ids grow with time), so a new entry never shifts a page."""
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 1 or not isinstance(values[0], int):
            raise BadRequest("The cursor does not fit this list", field="cursor")
        stmt = stmt.where(AuditEntry.id < values[0])
    rows = list((await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor([rows[-1].id])
