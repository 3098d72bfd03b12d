"""Ingest jobs: spool an upload to disk, create the job and queue its load in one transaction."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.errors import Conflict, NotFound
from k12shared.models import IngestJob, IngestRowError
from k12shared.queue import enqueue
from k12shared.settings import Settings

LOAD_ENTRYPOINT = "ingest.load"
CHUNK = 1 << 20


def spool_dir(settings: Settings) -> Path:
    path = Path(settings.ingest_spool_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def spool_file(settings: Settings, source: BinaryIO, job_id: uuid.UUID) -> tuple[Path, int, str]:
    """Copy an upload to the spool folder in 1 MiB chunks, hashing as it goes (never whole in memory)."""
    path = spool_dir(settings) / f"{job_id}.upload"
    digest, size = hashlib.sha256(), 0
    with open(path, "wb") as out:
        while block := source.read(CHUNK):
            digest.update(block)
            size += len(block)
            out.write(block)
    return path, size, digest.hexdigest()


async def create_job(
    session: AsyncSession,
    *,
    job_id: uuid.UUID,
    profile_code: str,
    profile_version: int,
    path: Path,
    size: int,
    sha256: str,
    file_name: str | None,
    actor: str | None,
    kind: str = "upload",
    feed_id: uuid.UUID | None = None,
) -> IngestJob:
    job = IngestJob(
        id=job_id,
        kind=kind,
        status="queued",
        profile_code=profile_code,
        profile_version=profile_version,
        file_name=file_name,
        file_path=str(path),
        file_bytes=size,
        file_sha256=sha256,
        feed_id=feed_id,
        created_by=actor,
        result={},
    )
    session.add(job)
    await session.flush()
    await enqueue(session, LOAD_ENTRYPOINT, {"job_id": str(job_id)}, dedupe_key=f"ingest-load:{job_id}")
    return job


async def get(session: AsyncSession, job_id: uuid.UUID) -> IngestJob:
    job = await session.get(IngestJob, job_id)
    if job is None:
        raise NotFound("Job not found")
    return job


def errors_query(job_id: uuid.UUID):
    return select(IngestRowError).where(IngestRowError.job_id == job_id)


async def cancel(session: AsyncSession, job: IngestJob) -> IngestJob:
    """A queued job is cancelled at once; a running one stops at its next checkpoint, loading nothing."""
    if job.status in ("succeeded", "failed", "cancelled"):
        raise Conflict(f"The job has already {job.status}", status_now=job.status)
    values = {"cancel_requested": True}
    if job.status == "queued":
        values |= {"status": "cancelled", "message": "cancelled before it started"}
    await session.execute(update(IngestJob).where(IngestJob.id == job.id).values(**values))
    await session.refresh(job)
    return job


def remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
