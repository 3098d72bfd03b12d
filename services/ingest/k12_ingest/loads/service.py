"""A district's latest data loads: the state files that brought it data and its SIS feeds' latest deliveries."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from k12_ingest.loads.schemas import DataLoadOut

_STATE_FILES = text(
    """
    select j.id, j.kind, j.profile_code as source, j.status, d.observations_in_file as observations,
           d.observations_changed, d.finished_at as loaded_at
    from ingest_job_districts d
    join ingest_jobs j on j.id = d.job_id
    where d.district_id = :district
    order by d.finished_at desc
    limit :limit
    """
)
_SIS_FEEDS = text(
    """
    select s.id, 'sis' as kind, s.name as source, coalesce(last.status, 'none') as status, last.records as observations,
           null::int as observations_changed, last.received_at as loaded_at
    from sis_sources s
    left join lateral (
        select d.status, d.records, d.received_at from sis_webhook_deliveries d where d.source_id = s.id order by d.id desc limit 1
    ) last on true
    where s.district_id = :district
    """
)


async def latest_loads(session: AsyncSession, district_id: uuid.UUID, limit: int) -> list[DataLoadOut]:
    """Newest first; an SIS feed that has received nothing yet comes last."""
    params = {"district": district_id, "limit": limit}
    rows: list[Any] = [*(await session.execute(_STATE_FILES, params)), *(await session.execute(_SIS_FEEDS, params))]
    rows.sort(key=_newest_first)
    return [DataLoadOut.model_validate(r._mapping) for r in rows[:limit]]


def _newest_first(row: Any) -> tuple[bool, float]:
    return (row.loaded_at is None, -row.loaded_at.timestamp() if row.loaded_at else 0.0)
