"""Ingest: mapping profiles, load jobs and their row errors, pull feeds, SIS sources, webhook
deliveries, pseudonymized student-level records and the quarantine. Owned by the ingest service.

Observations themselves live in ``observations`` (written by ingest, read by metrics-api).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Index, Integer, Numeric, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from k12shared.models.base import Base, created_at, updated_at, uuid_pk


class IngestProfile(Base):
    """A mapping profile, versioned: each change is a new row with the next version."""

    __tablename__ = "ingest_profiles"
    __table_args__ = (Index("uq_ingest_profiles_code_version", "code", "version", unique=True),)

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict] = mapped_column(JSONB)
    builtin: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()


class IngestJob(Base):
    """One load of one file: queued, running, succeeded, failed or cancelled."""

    __tablename__ = "ingest_jobs"
    __table_args__ = (
        Index("ix_ingest_jobs_created_at", "created_at"),
        Index("ix_ingest_jobs_file_sha256", "profile_code", "file_sha256"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(16), server_default="upload")  # upload | feed
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    profile_code: Mapped[str] = mapped_column(String(80))
    profile_version: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str | None] = mapped_column(String(300))
    file_path: Mapped[str] = mapped_column(String(500))
    file_bytes: Mapped[int] = mapped_column(BigInteger, server_default="0")
    file_sha256: Mapped[str] = mapped_column(String(64))
    feed_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("ingest_feeds.id", ondelete="SET NULL"))
    rows_read: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rows_loaded: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rows_rejected: Mapped[int] = mapped_column(BigInteger, server_default="0")
    observations_changed: Mapped[int] = mapped_column(BigInteger, server_default="0")
    observations_unchanged: Mapped[int] = mapped_column(BigInteger, server_default="0")
    progress: Mapped[float] = mapped_column(Numeric(5, 4), server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IngestRowError(Base):
    """A rejected row: its line number in the file and the reason."""

    __tablename__ = "ingest_row_errors"
    __table_args__ = (Index("ix_ingest_row_errors_job_id_line", "job_id", "line"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ingest_jobs.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)


class IngestFeed(Base):
    """A file the platform pulls on a schedule (cron) with conditional requests."""

    __tablename__ = "ingest_feeds"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    profile_code: Mapped[str] = mapped_column(String(80))
    schedule: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_sha256: Mapped[str | None] = mapped_column(String(64))
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[str | None] = mapped_column(String(40))
    last_job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class IngestJobDistrict(Base):
    """What a succeeded job brought to one district: the district's "latest data loads" without reading the
    jobs' observations. A failed job loads nothing, so it concerns no district."""

    __tablename__ = "ingest_job_districts"
    __table_args__ = (Index("ix_ingest_job_districts_district_id_finished_at", "district_id", "finished_at"),)

    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ingest_jobs.id", ondelete="CASCADE"), primary_key=True)
    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    observations_in_file: Mapped[int] = mapped_column(Integer)
    observations_changed: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SisSource(Base):
    """A SIS vendor's webhook feed for one district, with its signing secret (and the previous one during rotation)."""

    __tablename__ = "sis_sources"
    __table_args__ = (Index("ix_sis_sources_district_id", "district_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))
    vendor: Mapped[str] = mapped_column(String(100))
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class SisDelivery(Base):
    """A verified delivery, remembered by its webhook-id so a repeat has no second effect."""

    __tablename__ = "sis_webhook_deliveries"
    __table_args__ = (
        Index("uq_sis_webhook_deliveries_source_id_webhook_id", "source_id", "webhook_id", unique=True),
        # "Is another delivery of this district waiting?", asked by every delivery processed.
        Index("ix_sis_webhook_deliveries_district_id_queued", "district_id", postgresql_where=text("status = 'queued'")),
        # A source's latest delivery, for the district's data loads.
        Index("ix_sis_webhook_deliveries_source_id_id", "source_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("sis_sources.id", ondelete="CASCADE"))
    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    webhook_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default="queued")  # queued | processed | failed
    body: Mapped[str | None] = mapped_column(Text)
    records: Mapped[int] = mapped_column(Integer, server_default="0")
    quarantined: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = created_at()
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SisDerivePending(Base):
    """A district's school year whose derived metrics are left to the last delivery in line (k12_ingest.sis.tasks)."""

    __tablename__ = "sis_derive_pending"

    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    school_year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)


class SisRecord(Base):
    """A student-level Ed-Fi record, keyed by its natural key, student ids pseudonymized, no names."""

    __tablename__ = "sis_records"
    __table_args__ = (Index("ix_sis_records_district_id_resource_school_year", "district_id", "resource", "school_year"),)

    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    natural_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    school_org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    school_year: Mapped[int | None] = mapped_column(SmallInteger)
    student_key: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSONB)
    source_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = updated_at()


class SisQuarantine(Base):
    """A record naming a school the platform does not know yet: kept, reported, applied once it exists."""

    __tablename__ = "sis_quarantine"
    __table_args__ = (
        Index("uq_sis_quarantine_district_id_resource_natural_key", "district_id", "resource", "natural_key", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    source_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resource: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    natural_key: Mapped[str] = mapped_column(String(400))
    school_ref: Mapped[str] = mapped_column(String(40))
    school_year: Mapped[int | None] = mapped_column(SmallInteger)
    student_key: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
