"""The metric catalog and subgroup codes. Owned by metrics-api; seeded by migration."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from k12shared.models.base import Base


class Subgroup(Base):
    __tablename__ = "subgroups"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(24))  # all, race_ethnicity, program
    sort_order: Mapped[int] = mapped_column(SmallInteger, server_default="100")


class Metric(Base):
    __tablename__ = "metrics"
    __table_args__ = (
        CheckConstraint("direction in ('higher_is_better','lower_is_better')", name="direction_known"),
        CheckConstraint(
            "category in ('academic','attendance','graduation','readiness','climate','finance','operations')",
            name="category_known",
        ),
        CheckConstraint("privacy in ('public','private')", name="privacy_known"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(24))  # percent, count, ratio, days, rate_per_100
    direction: Mapped[str] = mapped_column(String(24))
    category: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(200))
    privacy: Mapped[str] = mapped_column(String(16), server_default="public")
    description: Mapped[str] = mapped_column(String(1000), server_default="")
    # Percent-like metrics are validated to 0..100 at ingest.
    min_value: Mapped[float | None] = mapped_column()
    max_value: Mapped[float | None] = mapped_column()
    aliases: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default=text("'{}'"))
