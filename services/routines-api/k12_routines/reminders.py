"""The periodic reminder scan: action.due_soon and action.overdue, each sent once per action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.models import ActionItem
from k12shared.settings import Settings
from k12_routines.actions.service import OPEN, send_reminder_if_due
from k12_routines.routines.service import district_today

BATCH = 500


async def scan(session: AsyncSession, settings: Settings) -> dict[str, int]:
    """Actions that became due soon or overdue and were not told yet. Safe to run twice."""
    horizon = datetime.now(UTC).date() + timedelta(days=settings.action_due_soon_days + 1)
    candidates = await session.scalars(
        select(ActionItem)
        .where(
            ActionItem.status.in_(OPEN),
            ActionItem.due_date <= horizon,
            (ActionItem.overdue_notified_at.is_(None)),
        )
        .order_by(ActionItem.due_date, ActionItem.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    sent = {"action.overdue": 0, "action.due_soon": 0}
    todays: dict = {}
    for action in list(candidates):
        if action.district_id not in todays:
            todays[action.district_id] = await district_today(session, action.district_id)
        kind = await send_reminder_if_due(session, action, todays[action.district_id], settings)
        if kind:
            sent[kind] += 1
    return sent
