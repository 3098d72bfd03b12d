"""Tenancy for every routines resource: one district each; school-scoped leaders see their schools."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth import Principal
from k12shared.errors import NotFound, Unprocessable

T = TypeVar("T")


def resolve_district(principal: Principal, requested: uuid.UUID | None) -> uuid.UUID:
    """The district a list or a new item is about: the one asked for, or the caller's only one."""
    district = requested or principal.default_district()
    if district is None:
        raise Unprocessable("Name the district with `district_id` (or ?district=)", field="district")
    principal.require_district(district, resource="District")
    return district


def can_see(principal: Principal, item: Any) -> bool:
    if not principal.can_access_district(item.district_id):
        return False
    return principal.can_access_school(getattr(item, "school_id", None))


async def get_visible(session: AsyncSession, model: type[T], item_id: uuid.UUID, principal: Principal, resource: str) -> T:
    """The item, or 404 when it does not exist or belongs to another district or another school."""
    item = await session.get(model, item_id)
    if item is None or not can_see(principal, item):
        raise NotFound(f"{resource} not found")
    return item


def require_school(principal: Principal, school_id: uuid.UUID | None) -> None:
    if not principal.can_access_school(school_id):
        raise NotFound("School not found")


def school_condition(principal: Principal, column: Any) -> Any | None:
    """A filter for lists: a school-scoped leader sees district-wide items and those of their schools."""
    if not principal.is_school_scoped:
        return None
    return or_(column.is_(None), column.in_(list(principal.school_ids)))
