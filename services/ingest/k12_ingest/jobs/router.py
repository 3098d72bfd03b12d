"""/api/v1/ingest/uploads and /api/v1/ingest/jobs: a file in, a job out at once; status, errors, cancel."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from k12shared import audit
from k12shared.auth.deps import PlatformAdmin
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES, BadRequest
from k12shared.models import IngestJob, IngestRowError
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_ingest.jobs import service
from k12_ingest.jobs.schemas import JobOut, JobStatus, RowErrorOut
from k12_ingest.profiles import service as profiles

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest jobs"], responses=PROBLEM_RESPONSES)


@router.post(
    "/uploads",
    operation_id="uploadIngestFile",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a state file with a profile: answers 202 with the queued job (platform admin)",
)
async def upload(
    request: Request,
    session: SessionDep,
    principal: PlatformAdmin,
    file: Annotated[UploadFile, File(description="The file (CSV)")],
    profile: Annotated[str, Form(description="Profile code, e.g. mo-dese-district-graduation")],
    profile_version: Annotated[int | None, Form(ge=1)] = None,
) -> JobOut:
    chosen = await profiles.get(session, profile, profile_version)
    job_id = uuid.uuid4()
    path, size, sha256 = await run_in_threadpool(service.spool_file, request.app.state.settings, file.file, job_id)
    if size == 0:
        service.remove_file(str(path))
        raise BadRequest("The file is empty", field="file")
    job = await service.create_job(
        session,
        job_id=job_id,
        profile_code=chosen.code,
        profile_version=chosen.version,
        path=path,
        size=size,
        sha256=sha256,
        file_name=file.filename,
        actor=principal.subject,
    )
    await audit.record(session, request, principal, action="create", resource="ingest_job", resource_id=job.id)
    return JobOut.model_validate(job)


@router.get("/jobs", operation_id="listIngestJobs", summary="Ingest jobs (platform admin)")
async def list_jobs(
    session: SessionDep,
    _: PlatformAdmin,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
    profile: str | None = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[JobOut]:
    stmt = select(IngestJob)
    if status_:
        stmt = stmt.where(IngestJob.status == status_)
    if profile:
        stmt = stmt.where(IngestJob.profile_code == profile)
    items, next_cursor = await paginate(session, stmt, [IngestJob.id], cursor=cursor, limit=limit)
    return Page(items=[JobOut.model_validate(j) for j in items], next_cursor=next_cursor)


@router.get("/jobs/{job_id}", operation_id="getIngestJob", summary="A job: status, rows read, loaded, rejected, progress")
async def get_job(job_id: uuid.UUID, session: SessionDep, _: PlatformAdmin) -> JobOut:
    return JobOut.model_validate(await service.get(session, job_id))


@router.post("/jobs/{job_id}/cancel", operation_id="cancelIngestJob", summary="Cancel a queued or running job (nothing is loaded)")
async def cancel_job(job_id: uuid.UUID, session: SessionDep, principal: PlatformAdmin, request: Request) -> JobOut:
    job = await service.cancel(session, await service.get(session, job_id))
    await audit.record(session, request, principal, action="cancel", resource="ingest_job", resource_id=job.id)
    return JobOut.model_validate(job)


@router.get(
    "/jobs/{job_id}/errors",
    operation_id="listIngestJobErrors",
    summary="Rejected rows with their line numbers and reasons (JSON; ?format=csv or Accept: text/csv for a download)",
    responses={200: {"content": {"text/csv": {}}}},
)
async def job_errors(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    _: PlatformAdmin,
    format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 100,
):
    await service.get(session, job_id)
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        return await _errors_csv(session, job_id)
    items, next_cursor = await paginate(session, service.errors_query(job_id), [IngestRowError.line, IngestRowError.id], cursor=cursor, limit=limit)
    return Page[RowErrorOut](items=[RowErrorOut.model_validate(e) for e in items], next_cursor=next_cursor)


async def _errors_csv(session, job_id: uuid.UUID) -> Response:
    rows = (await session.execute(service.errors_query(job_id).order_by(IngestRowError.line, IngestRowError.id))).scalars()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "column", "reason", "raw"])
    writer.writerows([e.line, e.column or "", e.reason, e.raw or ""] for e in rows)
    headers = {"content-disposition": f'attachment; filename="ingest-job-{job_id}-errors.csv"'}
    return Response(buffer.getvalue(), media_type="text/csv", headers=headers)
