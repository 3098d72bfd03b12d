"""People by name: owners, chairs and participants are kept as the subject of their sign-in; screens, packs
and memos show their display names from the platform's users (the gateway keeps them; read only here)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.models import User


async def display_names(session: AsyncSession, subjects: Iterable[str | None]) -> dict[str, str]:
    """Subject -> display name, for the subjects that name a platform user (others are free text, shown as is)."""
    wanted = sorted({s for s in subjects if s})
    if not wanted:
        return {}
    rows = await session.execute(select(User.subject, User.display_name).where(User.subject.in_(wanted)))
    return {subject: name for subject, name in rows.all()}
