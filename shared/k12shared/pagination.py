"""Keyset (cursor) pagination: stable under inserts, cheap at any depth."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.errors import BadRequest

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (at most {MAX_LIMIT})")]
CursorParam = Annotated[str | None, Query(max_length=512, description="Opaque cursor from the previous page's next_cursor")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _encode_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, raw), = value.items()
        decoders = {"u": uuid.UUID, "t": dt.datetime.fromisoformat, "d": dt.date.fromisoformat, "n": Decimal}
        if tag in decoders:
            return decoders[tag](raw)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([_encode_value(v) for v in values])).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(values, list):
            raise ValueError
        return [_decode_value(v) for v in values]
    except (ValueError, TypeError):
        raise BadRequest("The cursor is not valid; start again without it", field="cursor") from None


async def paginate(
    session: AsyncSession,
    stmt: Select,
    key_columns: Sequence[Any],
    *,
    cursor: str | None,
    limit: int,
    scalars: bool = True,
) -> tuple[list[Any], str | None]:
    """Fetch one page of ``stmt`` ordered by ``key_columns`` (which must be unique together)."""
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != len(key_columns):
            raise BadRequest("The cursor does not fit this list", field="cursor")
        stmt = stmt.where(tuple_(*key_columns) > tuple_(*values))
    stmt = stmt.order_by(*key_columns).limit(limit + 1)
    result = await session.execute(stmt)
    rows = list(result.scalars() if scalars else result.all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([_key_value(last, col) for col in key_columns])
    return rows, next_cursor


def _key_value(row: Any, column: Any) -> Any:
    name = column.key if hasattr(column, "key") else str(column)
    if hasattr(row, "_mapping"):
        if name in row._mapping:
            return row._mapping[name]
        # A row of several entities (select(User, Membership)): the key column's own entity holds it.
        owner = getattr(column, "class_", None)
        return getattr(next(v for v in row if owner is not None and isinstance(v, owner)), name)
    return getattr(row, name)
