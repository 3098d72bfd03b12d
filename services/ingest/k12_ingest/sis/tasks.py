"""Worker side of SIS webhooks: apply a delivery's Ed-Fi records, then re-derive the district's metrics.

One transaction per delivery, serialized per district (advisory lock), so the derived counts are
always computed from a consistent set of records. Records are keyed by their Ed-Fi natural key:
a re-sent or updated record replaces the stored one and is never counted twice.

Deriving reads every record of the district's year, so a storm of deliveries derives once, at its end:
a delivery with another of its district waiting behind it leaves its years pending, and the last one in
line (or a delivery that fails, on its way out) derives every pending year.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

import orjson
from pgqueuer import PgQueuer
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.db import driver_connection
from k12shared.models import Organization, SisDelivery, SisDerivePending, SisQuarantine
from k12shared.queue import WorkerContext, enqueue, job_payload
from k12_ingest.clients import request_rescore, resolve_orgs
from k12_ingest.sis.derive import derive_district_year
from k12_ingest.sis.edfi import RESOURCES, ParsedRecord, RecordError, record_version, version_of
from k12_ingest.sis.service import DELIVERY_ENTRYPOINT

log = logging.getLogger("k12.ingest.sis")
RESCORE_ENTRYPOINT = "ingest.rescore"
ERROR_LIMIT = 20
VERSION, DELETED = "v", "deleted"  # kept in a record's data: its version, and whether it was deleted
_NEWER = text("coalesce(sis_records.data->>'v', '') <= coalesce(excluded.data->>'v', '')")  # only a newer version replaces
QUARANTINE_BATCH = 2000  # rows per INSERT: 10 parameters each stays under PostgreSQL's 32,767


def register(pgq: PgQueuer, ctx: WorkerContext) -> None:
    @pgq.entrypoint(DELIVERY_ENTRYPOINT, concurrency_limit=8)
    async def deliver(job) -> None:
        await process_delivery(ctx, int(job_payload(job)["delivery_id"]))

    @pgq.entrypoint(RESCORE_ENTRYPOINT, concurrency_limit=1)
    async def rescore(job) -> None:
        payload = job_payload(job)
        org_ids = [uuid.UUID(o) for o in payload["org_ids"]]
        await request_rescore(ctx.services["metrics"], ctx.settings, ctx.keyring, org_ids, payload["school_years"])


async def process_delivery(ctx: WorkerContext, delivery_id: int) -> None:
    try:
        await _process(ctx, delivery_id)
    except Exception as exc:
        log.exception("SIS delivery failed", extra={"delivery_id": delivery_id})
        async with ctx.sessions() as session, session.begin():
            delivery = await session.get(SisDelivery, delivery_id, with_for_update=True)
            if delivery is not None and delivery.status != "processed":
                delivery.status, delivery.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
                delivery.processed_at = datetime.now(UTC)
                # Years earlier deliveries left to this one are derived all the same.
                district = await session.get(Organization, delivery.district_id)
                await _lock_district(session, district.id)
                await _derive_unless_others_wait(session, ctx, district, delivery_id, set())


async def _process(ctx: WorkerContext, delivery_id: int) -> None:
    async with ctx.sessions() as session:
        delivery = await session.get(SisDelivery, delivery_id)
        if delivery is None or delivery.status == "processed":
            return
        payload = orjson.loads(delivery.body)
        district = await session.get(Organization, delivery.district_id)
    resource, action, records = payload["resource"], payload.get("action", "upsert"), payload.get("data", [])
    errors: list[str] = []
    if resource == "schools" and action == "upsert":
        await _upsert_schools(ctx, district, records, errors)
    # Parsed (and student ids pseudonymized) before the district's lock is taken, which the writing holds.
    parsed = _parse(ctx, resource, records, district.id, version_of(delivery.received_at), errors) if resource in RESOURCES else []
    async with ctx.sessions() as session, session.begin():
        delivery = await session.get(SisDelivery, delivery_id, with_for_update=True)
        if delivery.status == "processed":
            return  # another worker got there first
        await _lock_district(session, district.id)
        schools = await _schools_of(session, district.id)
        years: set[int] = set()
        quarantined = await _apply(session, delivery, resource, action, parsed, schools, years) if parsed else 0
        years |= await _release_quarantine(session, district.id, schools)
        delivery.status, delivery.processed_at = "processed", datetime.now(UTC)
        delivery.records, delivery.quarantined = len(records), quarantined
        delivery.error = "; ".join(errors[:ERROR_LIMIT]) or None
        delivery.body = None  # the student-level payload is not kept once applied
        await _derive_unless_others_wait(session, ctx, district, delivery_id, years)


async def _lock_district(session: AsyncSession, district_id: uuid.UUID) -> None:
    await session.execute(text("select pg_advisory_xact_lock(hashtext(:k))"), {"k": f"sis-district:{district_id}"})


async def _derive_unless_others_wait(
    session: AsyncSession, ctx: WorkerContext, district: Organization, delivery_id: int, years: set[int]
) -> None:
    """Derive the district's pending years and these, or leave them pending for a delivery waiting behind this one.

    Called under the district's lock: a waiting delivery takes the lock after this transaction commits,
    so it sees every year left here."""
    if years:
        rows = [{"district_id": district.id, "school_year": year} for year in years]
        await session.execute(insert(SisDerivePending).values(rows).on_conflict_do_nothing())
    waiting = select(SisDelivery.id).where(SisDelivery.district_id == district.id, SisDelivery.status == "queued", SisDelivery.id != delivery_id)
    if await session.scalar(select(waiting.exists())):
        return
    taken = await session.scalars(delete(SisDerivePending).where(SisDerivePending.district_id == district.id).returning(SisDerivePending.school_year))
    pending = sorted(set(taken))
    if not pending:
        return
    schools = await _schools_of(session, district.id)
    changed_years = [year for year in pending if await derive_district_year(session, ctx.settings, district, schools, year)]
    if changed_years:
        # A rescore already queued for the district and years is kept.
        years_key = ",".join(map(str, changed_years))
        payload = {"org_ids": [str(district.id)], "school_years": changed_years}
        await enqueue(session, RESCORE_ENTRYPOINT, payload, dedupe_key=f"ingest-rescore:{district.id}:{years_key}")


def _parse(
    ctx: WorkerContext, resource: str, records: list[dict], district_id: uuid.UUID, arrived: str, errors: list[str]
) -> list[ParsedRecord]:
    parse = RESOURCES[resource]
    out = []
    for i, record in enumerate(records):
        try:
            parsed = parse(record, ctx.settings.pseudonym_key, district_id)
            out.append(replace(parsed, data={**parsed.data, VERSION: record_version(record, arrived)}))
        except (RecordError, TypeError, AttributeError, ValueError) as exc:
            errors.append(f"data[{i}]: {exc}")
    return out


def _newest_by_key(records: Iterable[ParsedRecord]) -> dict[str, ParsedRecord]:
    """One record per natural key: the newest version (the later one of equal versions)."""
    newest: dict[str, ParsedRecord] = {}
    for r in records:
        kept = newest.get(r.natural_key)
        if kept is None or r.data[VERSION] >= kept.data[VERSION]:
            newest[r.natural_key] = r
    return newest


async def _schools_of(session: AsyncSession, district_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """The district's schools by Ed-Fi id and by state id."""
    rows = await session.execute(
        select(Organization.id, Organization.edfi_id, Organization.state_id).where(
            Organization.district_id == district_id, Organization.type == "school"
        )
    )
    schools: dict[str, uuid.UUID] = {}
    for org_id, edfi_id, state_id in rows:
        for ref in (state_id, edfi_id):
            if ref:
                schools[str(ref)] = org_id
    return schools


async def _upsert_schools(ctx: WorkerContext, district: Organization, records: list[dict], errors: list[str]) -> None:
    """Create the district's schools it does not have yet (metrics-api owns organizations)."""
    own_ids = {str(district.edfi_id or ""), str(district.state_id or "")} - {""}
    items = []
    for i, record in enumerate(records):
        school_id = str(record.get("schoolId") or "")
        lea = str((record.get("localEducationAgencyReference") or {}).get("localEducationAgencyId") or "")
        if not school_id or not record.get("nameOfInstitution"):
            errors.append(f"data[{i}]: missing schoolId or nameOfInstitution")
            continue
        if lea and lea not in own_ids:
            errors.append(f"data[{i}]: school {school_id} belongs to LEA {lea}, not this district")
            continue
        items.append(
            {
                "type": "school",
                "name": str(record["nameOfInstitution"])[:300],
                "state_code": district.state_code,
                "state_id": school_id,
                "edfi_id": school_id,
                "parent_id": str(district.id),
                "timezone": district.timezone,
            }
        )
    if items:
        await resolve_orgs(ctx.services["metrics"], ctx.settings, ctx.keyring, items)


async def _apply(
    session: AsyncSession,
    delivery: SisDelivery,
    resource: str,
    action: str,
    parsed: list[ParsedRecord],
    schools: dict[str, uuid.UUID],
    years: set[int],
) -> int:
    known = _newest_by_key(r for r in parsed if r.school_ref in schools)
    held = _newest_by_key(r for r in parsed if r.school_ref not in schools)
    if known:
        await _write(session, delivery.district_id, delivery.source_id, resource, action, known.values(), schools)
        years |= {r.school_year for r in known.values() if r.school_year}
    if held:
        await _hold(session, delivery.district_id, delivery.source_id, resource, action, held.values())
    return len(held)


async def _write(
    session: AsyncSession,
    district_id: uuid.UUID,
    source_id: uuid.UUID | None,
    resource: str,
    action: str,
    records: Iterable[ParsedRecord],
    schools: dict[str, uuid.UUID],
) -> None:
    records = sorted(records, key=lambda r: r.natural_key)
    if action == "delete":
        # A tombstone, not a delete: an older version of the record arriving later must not bring it back.
        records = [replace(r, data={DELETED: True, VERSION: r.data[VERSION]}) for r in records]
    await _upsert_records(session, district_id, source_id, resource, records, schools)


async def _upsert_records(
    session: AsyncSession, district_id: uuid.UUID, source_id: uuid.UUID | None, resource: str, records: list[ParsedRecord], schools: dict[str, uuid.UUID]
) -> None:
    """One statement with a column array each: its plan is prepared once, whatever the number of records."""
    connection = await driver_connection(session)
    await connection.execute(
        _UPSERT_RECORDS,
        district_id,
        resource,
        source_id,
        [r.natural_key for r in records],
        [schools[r.school_ref] for r in records],
        [r.school_year for r in records],
        [r.student_key for r in records],
        [orjson.dumps(r.data).decode() for r in records],
    )


_UPSERT_RECORDS = f"""
    insert into sis_records (district_id, resource, source_id, natural_key, school_org_id, school_year, student_key, data)
    select $1, $2, $3, r.* from unnest($4::text[], $5::uuid[], $6::smallint[], $7::text[], $8::jsonb[]) as r
    on conflict (district_id, resource, natural_key) do update
    set school_org_id = excluded.school_org_id, school_year = excluded.school_year, student_key = excluded.student_key,
        data = excluded.data, source_id = excluded.source_id, updated_at = now()
    where {_NEWER.text}
"""


async def _hold(
    session: AsyncSession, district_id: uuid.UUID, source_id: uuid.UUID | None, resource: str, action: str, records: Iterable[ParsedRecord]
) -> None:
    records = sorted(records, key=lambda r: r.natural_key)
    for start in range(0, len(records), QUARANTINE_BATCH):
        await _hold_batch(session, district_id, source_id, resource, action, records[start : start + QUARANTINE_BATCH])


async def _hold_batch(
    session: AsyncSession, district_id: uuid.UUID, source_id: uuid.UUID | None, resource: str, action: str, records: list[ParsedRecord]
) -> None:
    rows = [
        dict(
            district_id=district_id,
            source_id=source_id,
            resource=resource,
            action=action,
            natural_key=r.natural_key,
            school_ref=r.school_ref,
            school_year=r.school_year,
            student_key=r.student_key,
            data=r.data,
            reason=f"unknown school {r.school_ref}",
        )
        for r in records
    ]
    stmt = insert(SisQuarantine).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["district_id", "resource", "natural_key"],
        set_={"action": stmt.excluded.action, "data": stmt.excluded.data, "school_year": stmt.excluded.school_year, "source_id": stmt.excluded.source_id},
        where=text("coalesce(sis_quarantine.data->>'v', '') <= coalesce(excluded.data->>'v', '')"),
    )
    await session.execute(stmt)


async def _release_quarantine(session: AsyncSession, district_id: uuid.UUID, schools: dict[str, uuid.UUID]) -> set[int]:
    """Apply held records whose school now exists, in the order they arrived; returns the years touched."""
    if not schools:
        return set()
    held = (
        await session.execute(
            select(SisQuarantine)
            .where(SisQuarantine.district_id == district_id, SisQuarantine.school_ref.in_(list(schools)))
            .order_by(SisQuarantine.id)
        )
    ).scalars().all()
    groups: dict[tuple[str, str, uuid.UUID | None], list[ParsedRecord]] = {}
    for item in held:  # one item per natural key, so applying by group keeps every record's last state
        record = ParsedRecord(item.natural_key, item.school_ref, item.school_year, item.student_key, item.data)
        groups.setdefault((item.resource, item.action, item.source_id), []).append(record)
    for (resource, action, source_id), records in groups.items():
        await _write(session, district_id, source_id, resource, action, records, schools)
    if held:
        await session.execute(delete(SisQuarantine).where(SisQuarantine.id.in_([h.id for h in held])))
    return {h.school_year for h in held if h.school_year}
