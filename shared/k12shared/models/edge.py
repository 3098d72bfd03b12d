"""The gateway's edge state, shared by every gateway replica: rate-limit windows and idempotency keys.

Owned by the gateway. Neither table carries tenant data; both are pruned by expiry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from k12shared.models.base import Base


class RateLimitWindow(Base):
    """Requests a caller made in one fixed window (one UPSERT per request increments ``hits``)."""

    __tablename__ = "edge_rate_limit_windows"
    __table_args__ = (Index("ix_edge_rate_limit_windows_window_start", "window_start"),)

    bucket: Mapped[str] = mapped_column(String(300), primary_key=True)  # e.g. client:k12c_..., webhook:<source>
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=1)


class IdempotencyKey(Base):
    """The first response to a POST carrying an ``Idempotency-Key``, per caller; replayed until it expires."""

    __tablename__ = "edge_idempotency_keys"
    __table_args__ = (Index("ix_edge_idempotency_keys_expires_at", "expires_at"),)

    caller: Mapped[str] = mapped_column(String(300), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256; the key itself is never stored
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path, query and body
    state: Mapped[str] = mapped_column(String(16))  # in_flight | completed
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    response_headers: Mapped[list | None] = mapped_column(JSONB)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)  # AES-GCM, keyed by the caller's key
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
