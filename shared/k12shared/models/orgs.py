"""Organizations: state → district (LEA) → school. Owned by metrics-api."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from k12shared.models.base import Base, created_at, updated_at, uuid_pk


class OrgType(StrEnum):
    state = "state"
    district = "district"
    school = "school"


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint("type in ('state','district','school')", name="type_known"),
        Index("uq_organizations_type_nces_id", "type", "nces_id", unique=True, postgresql_where=text("nces_id is not null")),
        Index(
            "uq_organizations_state_type_state_id",
            "state_code",
            "type",
            "state_id",
            unique=True,
            postgresql_where=text("state_id is not null"),
        ),
        Index("uq_organizations_edfi_id", "edfi_id", unique=True, postgresql_where=text("edfi_id is not null")),
        Index("ix_organizations_parent_id", "parent_id"),
        Index("ix_organizations_district_id", "district_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    state_code: Mapped[str] = mapped_column(String(2))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))
    # The district an org belongs to (itself for a district, null for a state): the tenant key.
    district_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))
    nces_id: Mapped[str | None] = mapped_column(String(12))
    state_id: Mapped[str | None] = mapped_column(String(40))
    edfi_id: Mapped[str | None] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(64), server_default="America/Chicago")
    attributes: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
