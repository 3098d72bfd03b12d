"""Observations: a metric's value for an organization × subgroup × school year.

Written by ingest (the loader), read by metrics-api. These are fact tables loaded a million rows at
a time, so they carry no foreign keys: a foreign key is a per-row trigger, and on a bulk load the
three of them cost twice the insert itself. The one write path (``k12_ingest.observations``) joins
every row to ``organizations`` and maps every metric and subgroup code through the catalog before
it writes, and neither organizations nor catalog codes are ever deleted. A published value protected as ``PS``,
``*``, ``GE95``, ``LT50`` or ``90-94`` keeps what it is: ``status`` says which, ``value`` is set
only when exact, and the bounds carry what is known.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Index, Numeric, SmallInteger, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from k12shared.models.base import Base, updated_at


class ValueStatus(StrEnum):
    exact = "exact"
    suppressed = "suppressed"  # PS, *, or suppressed by the platform for small n
    not_applicable = "not_applicable"  # '.', or empty
    lower_bound = "lower_bound"  # GE95: the value is at least 95
    upper_bound = "upper_bound"  # LT50, LE10: the value is below / at most
    range = "range"  # 90-94


class Visibility(StrEnum):
    public = "public"  # state-published aggregates: every district may read
    district = "district"  # derived from a district's own records: that district only


_STATUS_CHECK = "status in ('exact','suppressed','not_applicable','lower_bound','upper_bound','range')"


class _ObservationColumns:
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    metric_code: Mapped[str] = mapped_column(String(64))
    subgroup_code: Mapped[str] = mapped_column(String(40))
    school_year: Mapped[int] = mapped_column(SmallInteger)  # the spring year: 2016 is 2015-16
    status: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Numeric(14, 4))
    lower: Mapped[float | None] = mapped_column(Numeric(14, 4))
    upper: Mapped[float | None] = mapped_column(Numeric(14, 4))
    lower_inclusive: Mapped[bool | None] = mapped_column()
    upper_inclusive: Mapped[bool | None] = mapped_column()
    published_as: Mapped[str | None] = mapped_column(String(24))  # the text as published, when not exact
    numerator: Mapped[float | None] = mapped_column(Numeric(14, 4))
    denominator: Mapped[float | None] = mapped_column(Numeric(14, 4))  # the n
    visibility: Mapped[str] = mapped_column(String(16), server_default="public")
    # Tenant key: the district the org belongs to (null for a state-level org).
    district_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Observation(_ObservationColumns, Base):
    __tablename__ = "observations"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status_known"),
        CheckConstraint("(status = 'exact') = (value is not null)", name="value_only_when_exact"),
        Index("ix_observations_metric_code_school_year", "metric_code", "school_year"),
        Index("ix_observations_district_id", "district_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    metric_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    subgroup_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    school_year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    updated_at: Mapped[datetime] = updated_at()


class ObservationHistory(_ObservationColumns, Base):
    """Earlier versions of an observation, each with the batch it came from."""

    __tablename__ = "observation_history"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status_known"),
        Index("ix_observation_history_key", "org_id", "metric_code", "subgroup_code", "school_year"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    replaced_by_batch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
