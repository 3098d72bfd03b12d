"""The load of one job, run by the ingest worker.

One transaction:
1. parse the file (in a thread, by batches: progress and cancel between them), each batch's staging rows
   copied into a temp table while the next batch is parsed;
2. find or create the organizations it names (metrics-api) or look up the ids it gives;
3. drop rows of unknown organizations, de-duplicate (when the file names a key twice), copy replaced
   observations to history, upsert, record row errors, finish the job.
A failure or a kill before the commit leaves nothing; the queue hands a killed job to the next
worker, which starts again from the file and reaches the same data.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.db import driver_connection
from k12shared.models import IngestJob, Metric, Subgroup
from k12shared.queue import WorkerContext
from k12_ingest.clients import OrgResolveFailed, request_rescore, resolve_orgs
from k12_ingest.files.mapping import Catalog
from k12_ingest.files.reader import FileRefused
from k12_ingest.jobs.parse import STAGE_COLUMNS, FileParse, RowProblem
from k12_ingest.jobs.service import remove_file
from k12_ingest.observations import UpsertOutcome, upsert_staged
from k12_ingest.profiles import service as profiles
from k12_ingest.profiles.schemas import ProfileDefinition

log = logging.getLogger("k12.ingest.load")
TERMINAL = ("succeeded", "failed", "cancelled")


RETRY_FOR_S = 120  # how long a load waits out a database or metrics-api that went away before the job fails


class Cancelled(Exception):
    pass


class TemporarilyUnavailable(Exception):
    """The database (or metrics-api) went away mid-load: nothing was committed, the load starts again."""


def is_connection_loss(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (ConnectionError, asyncpg.ConnectionDoesNotExistError, asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError)):
            return True
        current = current.__cause__ or current.__context__
    return False


async def run_load_until_done(ctx: WorkerContext, job_id: uuid.UUID) -> None:
    """Run the load; when the database goes away, wait for it and start the load again from the file.

    Past RETRY_FOR_S the job fails with the reason (or, when even that cannot be written, stays
    running and the queue gives it to a worker once the heartbeat is stale).
    """
    deadline = time.monotonic() + RETRY_FOR_S
    pause = 0.5
    while True:
        try:
            await run_load(ctx, job_id)
            return
        except TemporarilyUnavailable as exc:
            if time.monotonic() > deadline:
                await _finish(ctx, job_id, "failed", f"gave up after {RETRY_FOR_S} s: {exc}"[:2000])
                return
            log.warning("database or metrics-api unavailable during a load; retrying", extra={"job_id": str(job_id), "pause_s": pause})
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)


class TooManyBadRows(Exception):
    def __init__(self, share: float) -> None:
        self.share = share


async def run_load(ctx: WorkerContext, job_id: uuid.UUID) -> None:
    try:
        job = await _start(ctx, job_id)
    except Exception as exc:
        if is_connection_loss(exc):
            raise TemporarilyUnavailable(str(exc)) from exc
        raise
    if job is None:
        return
    parse: FileParse | None = None
    try:
        definition = ProfileDefinition.model_validate(job.definition)
        catalog = await _catalog(ctx)
        parse = await asyncio.to_thread(FileParse, Path(job.file_path), definition, catalog)
        await _load(ctx, job_id, parse)
    except TooManyBadRows as exc:
        await _refuse(ctx, job_id, parse, exc.share)
    except Cancelled:
        await _finish(ctx, job_id, "cancelled", "cancelled while running; nothing was loaded")
    except FileRefused as exc:
        await _finish(ctx, job_id, "failed", str(exc))
    except OrgResolveFailed as exc:
        if exc.transient:
            raise TemporarilyUnavailable(str(exc)) from exc
        await _finish(ctx, job_id, "failed", str(exc))
    except Exception as exc:
        if is_connection_loss(exc):
            raise TemporarilyUnavailable(str(exc)) from exc
        log.exception("ingest load failed", extra={"job_id": str(job_id)})
        await _finish(ctx, job_id, "failed", f"load failed: {type(exc).__name__}: {exc}"[:2000])
    finally:
        if parse is not None:
            parse.close()
    async with ctx.sessions() as session:
        final = await session.get(IngestJob, job_id)
        if final is not None and final.status in TERMINAL:
            remove_file(final.file_path)
            if final.status == "succeeded":
                changed = final.result.get("changed_district_ids", [])
                await request_rescore(ctx.services["metrics"], ctx.settings, ctx.keyring, [uuid.UUID(o) for o in changed], final.result.get("school_years", []))


class _StartedJob:
    def __init__(self, job: IngestJob, definition: dict) -> None:
        self.id, self.file_path, self.profile_code, self.file_sha256 = job.id, job.file_path, job.profile_code, job.file_sha256
        self.definition = definition


async def _start(ctx: WorkerContext, job_id: uuid.UUID) -> _StartedJob | None:
    """Mark the job running (again, after a killed worker); None when there is nothing to do."""
    async with ctx.sessions() as session, session.begin():
        job = await session.get(IngestJob, job_id, with_for_update=True)
        if job is None or job.status in TERMINAL:
            return None
        if job.cancel_requested:
            _set_finished(job, "cancelled", "cancelled before it started")
            return None
        if not Path(job.file_path).exists():
            _set_finished(job, "failed", "the spooled file is gone")
            return None
        profile = await profiles.get(session, job.profile_code, job.profile_version)
        job.status, job.attempts, job.started_at = "running", job.attempts + 1, datetime.now(UTC)
        job.progress, job.rows_read, job.rows_rejected, job.message = 0, 0, 0, None
        return _StartedJob(job, profile.definition)


async def _catalog(ctx: WorkerContext) -> Catalog:
    async with ctx.sessions() as session:
        metrics = {
            code: (float(low) if low is not None else None, float(high) if high is not None else None)
            for code, low, high in await session.execute(select(Metric.code, Metric.min_value, Metric.max_value))
        }
        subgroups = set((await session.execute(select(Subgroup.code))).scalars())
    return Catalog(metrics, subgroups)


async def _checkpoint(ctx: WorkerContext, job_id: uuid.UUID, parse: FileParse) -> None:
    async with ctx.sessions() as session, session.begin():
        cancel = await session.scalar(select(IngestJob.cancel_requested).where(IngestJob.id == job_id))
        if cancel:
            raise Cancelled()
        await session.execute(
            update(IngestJob)
            .where(IngestJob.id == job_id)
            .values(progress=round(parse.progress * 0.8, 4), rows_read=parse.rows_read, rows_rejected=len(parse.rejected_lines))
        )


async def _organizations(ctx: WorkerContext, parse: FileParse) -> dict[str, uuid.UUID]:
    """org_key -> organization id: created via metrics-api for named orgs, looked up for given ids."""
    org_map: dict[str, uuid.UUID] = {}
    levels = {"state": 0, "district": 1, "school": 2}
    items = sorted(parse.mapper.org_items.values(), key=lambda i: levels.get(i.body["type"], 3))
    if items:
        # Parents first (states, districts, schools), so a batch never names a parent not yet resolved.
        ids = await resolve_orgs(ctx.services["metrics"], ctx.settings, ctx.keyring, [i.body for i in items])
        org_map.update({item.key: org_id for item, org_id in zip(items, ids, strict=True)})
    if parse.mapper.org_lookups:
        org_map.update(await _lookup_refs(ctx, parse.mapper.org_lookups))
    return org_map


async def _lookup_refs(ctx: WorkerContext, refs: set[str]) -> dict[str, uuid.UUID]:
    """Ids given in a file: the platform's id, an NCES id or a state id of a known organization."""
    uuids, others = [], []
    for ref in refs:
        try:
            uuids.append(uuid.UUID(ref))
        except ValueError:
            others.append(ref)
    found: dict[str, uuid.UUID] = {}
    async with ctx.sessions() as session:
        if uuids:
            rows = await session.execute(text("select id from organizations where id = any(:ids)"), {"ids": uuids})
            found.update({f"ref:{r.id}": r.id for r in rows})
            for u in uuids:  # the file may spell the id in capitals
                if f"ref:{u}" in found:
                    found[f"ref:{str(u).upper()}"] = u
        if others:
            rows = await session.execute(
                text("select id, nces_id, state_id from organizations where nces_id = any(:refs) or state_id = any(:refs) order by type"),
                {"refs": others},
            )
            for r in rows:
                for ref in (r.nces_id, r.state_id):
                    if ref in refs:
                        found.setdefault(f"ref:{ref}", r.id)
    return found


async def _load(ctx: WorkerContext, job_id: uuid.UUID, parse: FileParse) -> None:
    async with ctx.sessions() as session, session.begin():
        await session.execute(text("select pg_advisory_xact_lock(hashtext(:k))"), {"k": f"ingest-job:{job_id}"})
        raw = await driver_connection(session)
        await raw.execute(_STAGE_TABLES)
        await _parse_into_stage(ctx, job_id, raw, parse)
        org_map = await _organizations(ctx, parse)
        if org_map:
            await raw.copy_records_to_table("org_map", records=list(org_map.items()), columns=["org_key", "org_id"])
        await raw.execute("analyze stage; analyze org_map")
        await _checkpoint(ctx, job_id, parse)  # last chance to cancel before the load
        unknown = _org_keys(parse) - org_map.keys()
        if unknown:
            await _reject_unknown_organizations(raw, parse)
        rejected = len(parse.rejected_lines)
        share = rejected / parse.rows_read if parse.rows_read else 0.0
        if share > ctx.settings.ingest_max_bad_row_share:
            raise TooManyBadRows(share)  # leaves the transaction: nothing staged survives
        # Two keys of the file naming one organization (its NCES id and its state id) could make one observation of two rows.
        distinct = parse.keys.all_distinct and len(set(org_map.values())) == len(org_map)
        outcome = await upsert_staged(raw, batch_id=job_id, visibility="public", keys_distinct=distinct)
        identical = await _identical_earlier_job(session, job_id)
        await _save_errors(raw, job_id, parse.errors)
        await _record_districts(raw, job_id, outcome)
        job = await session.get(IngestJob, job_id, with_for_update=True)
        job.rows_read, job.rows_rejected, job.rows_loaded = parse.rows_read, rejected, parse.rows_read - rejected
        job.observations_changed, job.observations_unchanged = outcome.changed, outcome.incoming - outcome.changed
        job.result = {
            "unchanged": outcome.changed == 0,
            "identical_to_job": str(identical) if identical else None,
            "observations_inserted": outcome.inserted,
            "observations_updated": outcome.changed - outcome.inserted,
            "observations_in_file": outcome.incoming,
            "organizations_changed": outcome.orgs_changed,
            "changed_district_ids": [str(o) for o in outcome.district_ids],
            "school_years": outcome.school_years,
            "encoding": parse.encoding,
            "header_line": parse.header_line,
        }
        _set_finished(job, "succeeded", "no change: every observation was already loaded" if outcome.changed == 0 else None)


async def _record_districts(raw: Any, job_id: uuid.UUID, outcome: UpsertOutcome) -> None:
    """Each district the file speaks of, with how much of it was new: read by the district's dashboard."""
    districts = list(outcome.by_district.items())
    await raw.execute(
        """
        insert into ingest_job_districts (job_id, district_id, observations_in_file, observations_changed, finished_at)
        select $1::uuid, d.district_id, d.in_file, d.changed, clock_timestamp()
        from unnest($2::uuid[], $3::int[], $4::int[]) as d(district_id, in_file, changed)
        """,
        job_id,
        [district for district, _ in districts],
        [counts.in_file for _, counts in districts],
        [counts.changed for _, counts in districts],
    )


def _org_keys(parse: FileParse) -> set[str]:
    return set(parse.mapper.org_items) | {f"ref:{ref}" for ref in parse.mapper.org_lookups}


async def _reject_unknown_organizations(raw: Any, parse: FileParse) -> None:
    for line, org_key in await raw.fetch("select s.line, s.org_key from stage s where not exists (select 1 from org_map m where m.org_key = s.org_key)"):
        if line not in parse.rejected_lines:
            parse.reject(line, None, f"unknown organization {org_key.removeprefix('ref:')!r}", None)
    await raw.execute("delete from stage s where not exists (select 1 from org_map m where m.org_key = s.org_key)")


_STAGE_TABLES = """
create temp table stage (
    line int, org_key text, metric_code text, subgroup_code text, school_year smallint, status text,
    value numeric(14,4), lower numeric(14,4), upper numeric(14,4), lower_inclusive bool, upper_inclusive bool,
    published_as text, numerator numeric(14,4), denominator numeric(14,4)
) on commit drop;
create temp table org_map (org_key text primary key, org_id uuid not null) on commit drop;
"""


async def _parse_into_stage(ctx: WorkerContext, job_id: uuid.UUID, raw: Any, parse: FileParse) -> None:
    """Parse the file a batch at a time, each batch copied into ``stage`` while the next is parsed (the
    database and Python each on a core); progress and cancel checked between batches.

    One thread parses every batch: its memory comes back to one allocator arena instead of one per
    thread of the default pool, which kept a million-row file's worker some 150 MB larger."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-parse") as parser:
        staged = await loop.run_in_executor(parser, parse.step)
        while staged is not None:
            await _checkpoint(ctx, job_id, parse)
            results = await asyncio.gather(_copy_staged(raw, staged), loop.run_in_executor(parser, parse.step), return_exceptions=True)
            if failed := next((r for r in results if isinstance(r, BaseException)), None):
                raise failed
            staged = results[1]


async def _copy_staged(raw: Any, staged: bytes) -> None:
    if staged:
        await raw.copy_to_table("stage", source=_chunks(staged), columns=STAGE_COLUMNS, format="csv")


async def _chunks(data: bytes, size: int = 1 << 20) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _identical_earlier_job(session: AsyncSession, job_id: uuid.UUID) -> uuid.UUID | None:
    job = await session.get(IngestJob, job_id)
    return await session.scalar(
        select(IngestJob.id)
        .where(IngestJob.file_sha256 == job.file_sha256, IngestJob.profile_code == job.profile_code, IngestJob.status == "succeeded", IngestJob.id != job_id)
        .order_by(IngestJob.finished_at.desc())
        .limit(1)
    )


async def _save_errors(raw: Any, job_id: uuid.UUID, errors: list[RowProblem]) -> None:
    await raw.execute("delete from ingest_row_errors where job_id = $1", job_id)
    if errors:
        records = [(job_id, e.line, e.column, e.reason[:2000], e.raw) for e in errors]
        await raw.copy_records_to_table("ingest_row_errors", records=records, columns=["job_id", "line", "column", "reason", "raw"])


async def _refuse(ctx: WorkerContext, job_id: uuid.UUID, parse: FileParse, share: float) -> None:
    """Too many bad rows: nothing loads, but every error is kept for the person fixing the file."""
    async with ctx.sessions() as session, session.begin():
        raw = await driver_connection(session)
        await _save_errors(raw, job_id, parse.errors)
        job = await session.get(IngestJob, job_id, with_for_update=True)
        job.rows_read, job.rows_rejected, job.rows_loaded = parse.rows_read, len(parse.rejected_lines), 0
        limit = ctx.settings.ingest_max_bad_row_share
        _set_finished(job, "failed", f"{share:.1%} of rows are bad (limit {limit:.1%}); nothing was loaded")


async def _finish(ctx: WorkerContext, job_id: uuid.UUID, status: str, message: str) -> None:
    async with ctx.sessions() as session, session.begin():
        job = await session.get(IngestJob, job_id, with_for_update=True)
        if job is not None and job.status not in TERMINAL:
            _set_finished(job, status, message)


def _set_finished(job: IngestJob, status: str, message: str | None) -> None:
    job.status, job.message, job.finished_at = status, message, datetime.now(UTC)
    if status == "succeeded":
        job.progress = 1
