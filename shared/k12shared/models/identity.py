"""Users, their district memberships, and API clients. Owned by the gateway."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from k12shared.models.base import Base, created_at, uuid_pk


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    # The token subject: the local id, or the external identity provider's ``sub``.
    subject: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200))
    is_platform_admin: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[datetime] = created_at()


class UserMembership(Base):
    """A user's role in one district; a leader is further scoped to some schools."""

    __tablename__ = "user_memberships"
    __table_args__ = (Index("ix_user_memberships_district_id", "district_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    school_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), server_default=text("'{}'"))


class ApiClient(Base):
    """An OAuth2 client-credentials client. Secrets are stored hashed (scrypt), shown once."""

    __tablename__ = "api_clients"
    __table_args__ = (Index("ix_api_clients_district_id", "district_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    district_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default=text("'{}'"))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default=text("'{}'"))
    secret_hash: Mapped[str] = mapped_column(String(300))
    # During rotation the previous secret stays valid until this moment.
    previous_secret_hash: Mapped[str | None] = mapped_column(String(300))
    previous_secret_valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
