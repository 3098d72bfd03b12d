"""/api/v1/ingest/rosters: a district's OneRoster CSV export (a zip) applied like SIS deliveries.

The archive is checked whole before anything is stored (see rosters/archive.py for the zip bomb
defences); then its schools and student school associations are queued as deliveries of the SIS
source, so they go through the same worker, quarantine and derived metrics as webhook records. The
same archive sent again is a duplicate, by its content hash, and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, File, Form, Request, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from k12shared import audit
from k12shared.auth.deps import IngestWriter
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES, BadRequest, PayloadTooLarge, Unprocessable
from k12shared.settings import Settings
from k12_ingest.jobs.service import remove_file, spool_file
from k12_ingest.rosters.archive import ArchiveLimits, ArchiveRefused
from k12_ingest.rosters.oneroster import Roster, read_roster
from k12_ingest.rosters.schemas import RosterAccepted, RosterDelivery
from k12_ingest.sis import service as sources
from k12_ingest.sis.schemas import MAX_RECORDS_PER_DELIVERY

router = APIRouter(prefix="/api/v1/ingest/rosters", tags=["SIS sources"], responses=PROBLEM_RESPONSES)


def limits(settings: Settings) -> ArchiveLimits:
    return ArchiveLimits(
        max_members=settings.roster_max_members,
        max_member_bytes=settings.roster_max_unpacked_bytes,
        max_total_bytes=settings.roster_max_unpacked_bytes,
        max_ratio=settings.roster_max_compression_ratio,
    )


@router.post(
    "",
    operation_id="uploadRoster",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a OneRoster 1.1/1.2 CSV export (zip) for a SIS source: its schools and enrollments are queued like SIS deliveries",
    responses={413: {"description": "The archive is too large, holds too many members or would unpack past the limits (a zip bomb)"}},
)
async def upload_roster(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: IngestWriter,
    file: Annotated[UploadFile, File(description="The OneRoster CSV bulk export, a zip")],
    source_id: Annotated[uuid.UUID, Form(description="The SIS source (and so the district) the roster belongs to")],
) -> RosterAccepted:
    source = await sources.get_for(session, principal, source_id)
    settings = request.app.state.settings
    path, size, sha256 = await run_in_threadpool(spool_file, settings, file.file, uuid.uuid4())
    try:
        if size == 0:
            raise BadRequest("The file is empty", field="file")
        if size > settings.roster_max_archive_bytes:
            raise PayloadTooLarge(f"The archive is {size} bytes; at most {settings.roster_max_archive_bytes} are taken", field="file")
        roster = await run_in_threadpool(_read, path, limits(settings))
    finally:
        remove_file(str(path))
    deliveries = await _queue(session, source, sha256, roster)
    duplicate = bool(deliveries) and all(d.delivery_id is None for d in deliveries)
    if duplicate:
        response.status_code = status.HTTP_200_OK
    await audit.record(session, request, principal, action="upload", resource="sis_roster", resource_id=source.id, district_id=source.district_id)
    return RosterAccepted(
        source_id=source.id,
        archive_sha256=sha256,
        status="duplicate" if duplicate else "queued",
        oneroster_version=roster.version,
        schools=len(roster.schools),
        student_school_associations=len(roster.associations),
        rows_skipped=roster.rows_skipped,
        problems=roster.problems,
        ignored_members=roster.ignored_members,
        deliveries=deliveries,
    )


def _read(path, archive_limits: ArchiveLimits) -> Roster:
    try:
        roster = read_roster(path, archive_limits)
    except ArchiveRefused as exc:
        problem = PayloadTooLarge if exc.too_large else Unprocessable
        raise problem(exc.detail, field="file", **({"member": exc.member} if exc.member else {})) from None
    if not roster.schools and not roster.associations:
        raise Unprocessable("The archive holds no schools and no student enrollments", field="file", problems=roster.problems)
    return roster


async def _queue(session, source, sha256: str, roster: Roster) -> list[RosterDelivery]:
    """Schools first, then associations, in deliveries the size a webhook may carry; the webhook id is
    the archive's hash, so the same archive again queues nothing."""
    deliveries = []
    for resource, records in (("schools", roster.schools), ("studentSchoolAssociations", roster.associations)):
        for start in range(0, len(records), MAX_RECORDS_PER_DELIVERY):
            batch = records[start : start + MAX_RECORDS_PER_DELIVERY]
            body = orjson.dumps({"resource": resource, "action": "upsert", "data": batch}).decode()
            delivery_id = await sources.queue_delivery(session, source, f"roster:{sha256}:{resource}:{start}", body)
            deliveries.append(RosterDelivery(resource=resource, records=len(batch), delivery_id=delivery_id))
    return deliveries
