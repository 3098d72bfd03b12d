"""Write observations the one way: staged rows de-duplicated, replaced values kept in history, upserted.

Expects, on the same connection and transaction, temp tables ``stage`` (see jobs.parse.STAGE_COLUMNS)
and ``org_map`` (org_key -> org_id). An observation whose status, numbers and visibility are the same
as stored is left alone, so loading the same data twice changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

_COMPARED = "status, value, lower, upper, lower_inclusive, upper_inclusive, published_as, numerator, denominator, visibility"
_KEY = "org_id, metric_code, subgroup_code, school_year"

UPSERT = f"""
with incoming as (
    select distinct on (m.org_id, s.metric_code, s.subgroup_code, s.school_year)
           m.org_id, s.metric_code, s.subgroup_code, s.school_year, s.status, s.value, s.lower, s.upper,
           s.lower_inclusive, s.upper_inclusive, s.published_as, s.numerator, s.denominator,
           $2::text as visibility, coalesce(o.district_id, case when o.type = 'district' then o.id end) as district_id
    from stage s
    join org_map m on m.org_key = s.org_key
    join organizations o on o.id = m.org_id
    order by m.org_id, s.metric_code, s.subgroup_code, s.school_year, s.line desc
), changed as (
    select i.*, (cur.org_id is not null) as existed
    from incoming i
    left join observations cur using ({_KEY})
    where cur.org_id is null
       or (cur.status, cur.value, cur.lower, cur.upper, cur.lower_inclusive, cur.upper_inclusive, cur.published_as,
           cur.numerator, cur.denominator, cur.visibility)
          is distinct from
          (i.status, i.value, i.lower, i.upper, i.lower_inclusive, i.upper_inclusive, i.published_as,
           i.numerator, i.denominator, i.visibility)
), history as (
    insert into observation_history ({_KEY}, {_COMPARED}, district_id, batch_id, replaced_at, replaced_by_batch_id)
    select cur.org_id, cur.metric_code, cur.subgroup_code, cur.school_year,
           cur.status, cur.value, cur.lower, cur.upper, cur.lower_inclusive, cur.upper_inclusive, cur.published_as,
           cur.numerator, cur.denominator, cur.visibility, cur.district_id, cur.batch_id, now(), $1
    from observations cur
    join changed c using ({_KEY})
    where c.existed
), upserted as (
    insert into observations ({_KEY}, {_COMPARED}, district_id, batch_id, updated_at)
    select {_KEY}, {_COMPARED}, district_id, $1, now() from changed
    order by {_KEY}
    on conflict ({_KEY}) do update set
        status = excluded.status, value = excluded.value, lower = excluded.lower, upper = excluded.upper,
        lower_inclusive = excluded.lower_inclusive, upper_inclusive = excluded.upper_inclusive,
        published_as = excluded.published_as, numerator = excluded.numerator, denominator = excluded.denominator,
        visibility = excluded.visibility, district_id = excluded.district_id, batch_id = excluded.batch_id, updated_at = now()
    returning org_id, school_year, (xmax = 0) as inserted
)
select (select count(*) from incoming) as incoming,
       (select count(*) from upserted) as changed,
       (select count(*) from upserted where inserted) as inserted,
       (select count(distinct org_id) from upserted) as orgs_changed,
       (select coalesce(array_agg(distinct u.org_id), '{{}}') from upserted u join organizations o on o.id = u.org_id
         where o.type = 'district') as district_ids,
       (select coalesce(array_agg(distinct school_year), '{{}}') from upserted) as school_years
"""


@dataclass
class UpsertOutcome:
    incoming: int
    changed: int
    inserted: int
    orgs_changed: int
    district_ids: list[uuid.UUID]  # the changed organizations that are scored (districts)
    school_years: list[int]


async def upsert_staged(raw: Any, *, batch_id: uuid.UUID | None, visibility: str) -> UpsertOutcome:
    row = await raw.fetchrow(UPSERT, batch_id, visibility)
    return UpsertOutcome(row["incoming"], row["changed"], row["inserted"], row["orgs_changed"], list(row["district_ids"]), sorted(row["school_years"]))
