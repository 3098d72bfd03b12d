"""Delivery plans, routines and meetings, judgments, action items, capacity reviews, and the
outbox of outbound events with its webhook subscriptions. Owned by routines-api.

Every table carries ``district_id`` (the tenant key). People are named by their token subject.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from k12shared.models.base import Base, created_at, updated_at, uuid_pk


def _moment() -> Mapped[datetime]:
    """The clock time of the write (not the transaction's start), so a history keeps its order."""
    return mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp(), nullable=False)


def _district() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"), index=True)


def _school() -> Mapped[uuid.UUID | None]:
    """The school an item concerns, when it concerns one school (leaders see their schools only)."""
    return mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))


class DeliveryPlan(Base):
    __tablename__ = "delivery_plans"

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    school_year: Mapped[int] = mapped_column(SmallInteger)  # the spring year: 2026 is 2025-26
    title: Mapped[str] = mapped_column(String(300))
    aspiration: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Goal(Base):
    """A goal tied to one metric × subgroup with a target; the target itself lives in metrics-api."""

    __tablename__ = "goals"
    __table_args__ = (Index("ix_goals_plan_id", "plan_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    school_id: Mapped[uuid.UUID | None] = _school()
    plan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("delivery_plans.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))  # whose numbers
    metric_code: Mapped[str] = mapped_column(String(64), ForeignKey("metrics.code"))
    subgroup_code: Mapped[str] = mapped_column(String(40), ForeignKey("subgroups.code"))
    baseline_period: Mapped[int] = mapped_column(SmallInteger)
    baseline_value: Mapped[float] = mapped_column(Numeric(14, 4))
    target_period: Mapped[int] = mapped_column(SmallInteger)
    target_value: Mapped[float] = mapped_column(Numeric(14, 4))
    trajectory: Mapped[dict] = mapped_column(JSONB)  # {kind: linear|stepped|points, points?: [...]}
    owner: Mapped[str] = mapped_column(String(200))
    # People and teams who carry the goal to the classroom: [{name, role, subject?}]
    delivery_chain: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    target_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # metrics-api target
    target_sync_error: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Strategy(Base):
    __tablename__ = "strategies"
    __table_args__ = (Index("ix_strategies_goal_id", "goal_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    goal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("goals.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()


class Milestone(Base):
    __tablename__ = "milestones"
    __table_args__ = (
        Index("ix_milestones_strategy_id", "strategy_id"),
        CheckConstraint("status in ('planned','done','missed')", name="status_known"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    strategy_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("strategies.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    due_date: Mapped[date] = mapped_column(Date)
    owner: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default="planned")
    created_at: Mapped[datetime] = created_at()


class Judgment(Base):
    """Likelihood of delivery, judged by people; kept apart from the data's red/amber/green."""

    __tablename__ = "judgments"
    __table_args__ = (
        Index("ix_judgments_goal_id_recorded_at", "goal_id", "recorded_at"),
        CheckConstraint("rating in ('green','amber_green','amber_red','red')", name="rating_known"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    goal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("goals.id", ondelete="CASCADE"))
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("meetings.id", ondelete="SET NULL"))
    rating: Mapped[str] = mapped_column(String(16))
    rationale: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = _moment()


class Routine(Base):
    __tablename__ = "routines"
    __table_args__ = (CheckConstraint("kind in ('stocktake','memo','delivery_report','check_in')", name="kind_known"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    school_id: Mapped[uuid.UUID | None] = _school()
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(24))
    rrule: Mapped[str] = mapped_column(String(500))  # RFC 5545 RRULE, in the routine's time zone
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the first occurrence
    timezone: Mapped[str] = mapped_column(String(64))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    chair: Mapped[str] = mapped_column(String(200))
    participants: Mapped[list[str]] = mapped_column(ARRAY(String(200)), server_default=text("'{}'"))
    goal_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), server_default=text("'{}'"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Meeting(Base):
    """One occurrence of a routine. ``original_start`` is its place in the recurrence (RECURRENCE-ID)."""

    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("routine_id", "original_start"),
        Index("ix_meetings_district_id_starts_at", "district_id", "starts_at"),
        CheckConstraint("status in ('scheduled','moved','cancelled','held')", name="status_known"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))
    routine_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("routines.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)  # 1-based position in the recurrence
    original_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), server_default="scheduled")
    moved: Mapped[bool] = mapped_column(server_default=text("false"))
    revision: Mapped[int] = mapped_column(Integer, server_default="0")  # iCalendar SEQUENCE
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class MeetingDecision(Base):
    __tablename__ = "meeting_decisions"

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    meeting_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    goal_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("goals.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()


class MeetingPack(Base):
    """A published pre-read: the snapshot is stored, so its numbers never change afterwards."""

    __tablename__ = "meeting_packs"

    meeting_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    district_id: Mapped[uuid.UUID] = _district()
    content: Mapped[dict] = mapped_column(JSONB)
    published_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime] = created_at()


class ActionItem(Base):
    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_district_id_due_date", "district_id", "due_date"),
        Index("ix_action_items_goal_id", "goal_id"),
        Index("ix_action_items_meeting_id", "meeting_id"),
        Index("ix_action_items_owner", "owner"),
        CheckConstraint("status in ('open','in_progress','done','dropped')", name="status_known"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))
    school_id: Mapped[uuid.UUID | None] = _school()
    title: Mapped[str] = mapped_column(String(500))
    owner: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date] = mapped_column(Date)
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("meetings.id", ondelete="SET NULL"))
    goal_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("goals.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Reminders sent, so the periodic scan sends each one once.
    due_soon_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    overdue_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ActionStatusChange(Base):
    __tablename__ = "action_status_changes"

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    action_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("action_items.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = _moment()


class CapacityRubric(Base):
    """A delivery-capacity rubric as data: dimensions [{code, name, description}], rated 1–4.
    ``district_id`` null is the platform's default rubric."""

    __tablename__ = "capacity_rubrics"

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    dimensions: Mapped[list] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()


class CapacityReview(Base):
    __tablename__ = "capacity_reviews"

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    rubric_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("capacity_rubrics.id"))
    reviewed_on: Mapped[date] = mapped_column(Date)
    ratings: Mapped[list] = mapped_column(JSONB)  # [{dimension, rating 1-4, evidence}]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()


class CalendarFeed(Base):
    """A person's secret calendar URL; only a hash of its token is kept."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (UniqueConstraint("district_id", "subject"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))
    subject: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at()


class OutboxEvent(Base):
    """An event written in the same transaction as the change it reports."""

    __tablename__ = "routines_outbox"
    __table_args__ = (Index("ix_routines_outbox_district_id_occurred_at", "district_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id"))
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = _moment()
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (CheckConstraint("status in ('active','paused')", name="status_known"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    # The signing key must be usable to sign, so it is kept (shown to the subscriber once).
    secret: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default="0")
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        CheckConstraint("status in ('pending','delivered','failed')", name="status_known"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    district_id: Mapped[uuid.UUID] = _district()
    subscription_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("routines_outbox.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class WebhookDeliveryAttempt(Base):
    __tablename__ = "webhook_delivery_attempts"

    id: Mapped[uuid.UUID] = uuid_pk()
    delivery_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = _moment()
