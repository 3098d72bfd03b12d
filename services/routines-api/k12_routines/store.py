"""Small persistence helpers shared by the domains of routines-api."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared import audit
from k12shared.auth import Principal

T = TypeVar("T")


async def save(session: AsyncSession, item: T) -> T:
    """Write the item now and read back what the database filled in (timestamps, defaults)."""
    session.add(item)
    await session.flush()
    await session.refresh(item)
    return item


async def record(session: AsyncSession, request: Request, principal: Principal, action: str, resource: str, item, detail: dict | None = None) -> None:
    await audit.record(session, request, principal, action=action, resource=resource, resource_id=item.id, district_id=item.district_id, detail=detail)
