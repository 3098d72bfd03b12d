"""Accountability frameworks (versioned documents), stored scores with history, and targets. Owned by metrics-api."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Numeric, SmallInteger, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from k12shared.models.base import Base, created_at, updated_at, uuid_pk


class Framework(Base):
    """One version of an accountability framework; the document holds every rule and threshold."""

    __tablename__ = "frameworks"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_frameworks_code_version"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(200))
    state_code: Mapped[str | None] = mapped_column(String(2))
    document: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()


class Score(Base):
    """A computed score; every recomputation is a new row, so the rows are the history."""

    __tablename__ = "scores"
    __table_args__ = (Index("ix_scores_org_framework_year", "org_id", "framework_code", "school_year", "computed_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))
    district_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    framework_code: Mapped[str] = mapped_column(String(64))
    framework_version: Mapped[int] = mapped_column(SmallInteger)
    school_year: Mapped[int] = mapped_column(SmallInteger)
    points_earned: Mapped[float] = mapped_column(Numeric(8, 2))
    points_possible: Mapped[float] = mapped_column(Numeric(8, 2))
    classification: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict] = mapped_column(JSONB)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Target(Base):
    """A metric's target for an org and subgroup, or for a gap (subgroup minus reference), with its trajectory."""

    __tablename__ = "targets"
    __table_args__ = (Index("ix_targets_org_id", "org_id"), Index("ix_targets_district_id", "district_id"))

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))
    district_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    metric_code: Mapped[str] = mapped_column(String(64), ForeignKey("metrics.code"))
    subgroup_code: Mapped[str] = mapped_column(String(40), ForeignKey("subgroups.code"))
    baseline_year: Mapped[int] = mapped_column(SmallInteger)
    baseline_value: Mapped[float] = mapped_column(Numeric(14, 4))
    target_year: Mapped[int] = mapped_column(SmallInteger)
    target_value: Mapped[float] = mapped_column(Numeric(14, 4))
    trajectory: Mapped[dict] = mapped_column(JSONB)
    tolerance: Mapped[float] = mapped_column(Numeric(14, 4))
    # Set for a gap target: the value judged is subgroup minus this reference group.
    reference_subgroup_code: Mapped[str | None] = mapped_column(String(40), ForeignKey("subgroups.code"))
    title: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
