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

# One writer of observations at a time (a transaction-scoped lock, released at commit): the load
# then knows which keys exist and inserts new rows plainly, without ON CONFLICT's per-row speculation.
_WRITE_LOCK = "select pg_advisory_xact_lock(hashtext('k12:observations-write'))"
# Sorts and hashes of a million-row load stay in memory (this transaction only).
_LOAD_WORK_MEM = "set local work_mem = '256MB'"

# The staged rows with their organizations. The file's last line wins for a key it names twice (a sorted
# copy); rows known to name each key once are read straight from the stage, neither sorted nor copied.
_INCOMING = """
    select {distinct} m.org_id, s.metric_code, s.subgroup_code, s.school_year, s.status, s.value, s.lower, s.upper,
           s.lower_inclusive, s.upper_inclusive, s.published_as, s.numerator, s.denominator,
           current_setting('k12.load_visibility') as visibility, coalesce(o.district_id, case when o.type = 'district' then o.id end) as district_id,
           o.type = 'district' as is_district
    from stage s
    join org_map m on m.org_key = s.org_key
    join organizations o on o.id = m.org_id
    {order}
"""
_LAST_LINE_WINS = {
    "distinct": "distinct on (m.org_id, s.metric_code, s.subgroup_code, s.school_year)",
    "order": "order by m.org_id, s.metric_code, s.subgroup_code, s.school_year, s.line desc",
}

_DEDUPLICATED = "create temp table incoming on commit drop as " + _INCOMING.format_map(_LAST_LINE_WINS)
_AS_STAGED = "(" + _INCOMING.format_map({"distinct": "", "order": ""}) + ")"
# CREATE TABLE AS takes no bind parameters: the visibility comes in as a transaction-local setting.
_VISIBILITY = "select set_config('k12.load_visibility', $1, true)"

_STEPS: list[tuple[str, str | None]] = [  # (statement, the parameter it takes); {incoming}: the rows to load
    # Only what is new or differs from what is stored.
    (f"""
    create temp table changed on commit drop as
    select i.*, (cur.org_id is not null) as existed
    from {{incoming}} i
    left join observations cur using ({_KEY})
    where cur.org_id is null
       or (cur.status, cur.value, cur.lower, cur.upper, cur.lower_inclusive, cur.upper_inclusive, cur.published_as,
           cur.numerator, cur.denominator, cur.visibility)
          is distinct from
          (i.status, i.value, i.lower, i.upper, i.lower_inclusive, i.upper_inclusive, i.published_as,
           i.numerator, i.denominator, i.visibility)
    """, None),
    ("analyze changed", None),
    (f"""
    insert into observation_history ({_KEY}, {_COMPARED}, district_id, batch_id, replaced_at, replaced_by_batch_id)
    select cur.org_id, cur.metric_code, cur.subgroup_code, cur.school_year,
           cur.status, cur.value, cur.lower, cur.upper, cur.lower_inclusive, cur.upper_inclusive, cur.published_as,
           cur.numerator, cur.denominator, cur.visibility, cur.district_id, cur.batch_id, now(), $1::uuid
    from observations cur
    join changed c using ({_KEY})
    where c.existed
    """, "batch_id"),
    ("""
    update observations o set
        status = c.status, value = c.value, lower = c.lower, upper = c.upper,
        lower_inclusive = c.lower_inclusive, upper_inclusive = c.upper_inclusive, published_as = c.published_as,
        numerator = c.numerator, denominator = c.denominator, visibility = c.visibility, district_id = c.district_id,
        batch_id = $1::uuid, updated_at = now()
    from changed c
    where c.existed and (o.org_id, o.metric_code, o.subgroup_code, o.school_year) = (c.org_id, c.metric_code, c.subgroup_code, c.school_year)
    """, "batch_id"),
    (f"""
    insert into observations ({_KEY}, {_COMPARED}, district_id, batch_id, updated_at)
    select {_KEY}, {_COMPARED}, district_id, $1::uuid, now() from changed
    where not existed
    order by {_KEY}
    """, "batch_id"),
]
# What changed, in a few rows per organization and year (the outcome is summed up from them in Python).
_CHANGED_SUMMARY = """
select org_id, district_id, is_district, school_year, existed, count(*) as n
from changed
group by org_id, district_id, is_district, school_year, existed
"""
_INCOMING_BY_DISTRICT = "select district_id, count(*) as n from {incoming} i group by district_id"  # null: a state's rows


@dataclass
class DistrictCounts:
    in_file: int
    changed: int


@dataclass
class UpsertOutcome:
    incoming: int
    changed: int
    inserted: int
    orgs_changed: int
    district_ids: list[uuid.UUID]  # the changed organizations that are scored (districts)
    school_years: list[int]
    by_district: dict[uuid.UUID, DistrictCounts]  # each district the rows belong to


async def upsert_staged(raw: Any, *, batch_id: uuid.UUID | None, visibility: str, keys_distinct: bool = False) -> UpsertOutcome:
    """``keys_distinct``: the caller knows the staged rows name each observation once."""
    await raw.execute(_WRITE_LOCK)
    await raw.execute(_LOAD_WORK_MEM)
    await raw.execute("drop table if exists pg_temp.incoming, pg_temp.changed")
    await raw.execute(_VISIBILITY, visibility)
    if keys_distinct:
        incoming = _AS_STAGED
    else:
        await raw.execute(_DEDUPLICATED)
        incoming = "incoming"
    for statement, param in _STEPS:
        await raw.execute(statement.replace("{incoming}", incoming), *([batch_id] if param else []))
    by_district = await raw.fetch(_INCOMING_BY_DISTRICT.replace("{incoming}", incoming))
    return _outcome(by_district, await raw.fetch(_CHANGED_SUMMARY))


def _outcome(incoming_by_district: list, changed: list) -> UpsertOutcome:
    by_district = {r["district_id"]: DistrictCounts(r["n"], 0) for r in incoming_by_district}
    for r in changed:
        by_district[r["district_id"]].changed += r["n"]
    return UpsertOutcome(
        incoming=sum(r["n"] for r in incoming_by_district),
        changed=sum(r["n"] for r in changed),
        inserted=sum(r["n"] for r in changed if not r["existed"]),
        orgs_changed=len({r["org_id"] for r in changed}),
        district_ids=list({r["org_id"] for r in changed if r["is_district"]}),
        school_years=sorted({r["school_year"] for r in changed}),
        by_district={district: counts for district, counts in by_district.items() if district is not None},
    )
