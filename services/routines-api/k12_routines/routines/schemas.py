from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

RoutineKind = Literal["stocktake", "memo", "delivery_report", "check_in"]


class RoutineIn(BaseModel):
    district_id: uuid.UUID | None = Field(None, description="The caller's district when omitted")
    school_id: uuid.UUID | None = Field(None, description="The school the routine concerns, if one")
    title: str = Field(min_length=1, max_length=300)
    kind: RoutineKind
    goal_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100, description="The goals in scope")
    chair: str | None = Field(None, max_length=200, description="User subject; the caller when omitted")
    participants: list[str] = Field(default_factory=list, max_length=200)
    rrule: str = Field(max_length=500, examples=["FREQ=MONTHLY;INTERVAL=2;COUNT=6"])
    starts_at: datetime = Field(description="The first occurrence; without an offset it is wall time in `timezone`", examples=["2026-09-15T09:00:00"])
    timezone: str | None = Field(None, max_length=64, description="IANA zone; the district's when omitted", examples=["America/Chicago"])
    duration_minutes: int = Field(60, ge=5, le=24 * 60)


class RoutinePatch(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=300)
    goal_ids: list[uuid.UUID] | None = Field(None, max_length=100)
    chair: str | None = Field(None, max_length=200)
    participants: list[str] | None = Field(None, max_length=200)


class RoutineOut(BaseModel):
    id: uuid.UUID
    district_id: uuid.UUID
    school_id: uuid.UUID | None
    title: str
    kind: RoutineKind
    goal_ids: list[uuid.UUID]
    chair: str
    participants: list[str]
    rrule: str
    starts_at: datetime
    timezone: str
    duration_minutes: int
    meeting_count: int
    calendar_url: str
    created_at: datetime


class MeetingOut(BaseModel):
    id: uuid.UUID
    routine_id: uuid.UUID
    district_id: uuid.UUID
    routine_title: str
    kind: RoutineKind
    sequence: int
    original_start: datetime
    starts_at: datetime
    ends_at: datetime
    local_start: str = Field(description="The start as wall time in the routine's zone, with its offset")
    timezone: str
    status: Literal["scheduled", "moved", "cancelled", "held"]
    moved: bool
    held_at: datetime | None
    notes: str | None
    pack_published_at: datetime | None = None


class MeetingPatch(BaseModel):
    starts_at: datetime | None = Field(None, description="Move this one occurrence (others keep their time)")
    duration_minutes: int | None = Field(None, ge=5, le=24 * 60)
    notes: str | None = Field(None, max_length=100_000)


class FollowThrough(BaseModel):
    """The features of a good routine as numbers (shares are 0–1, null when nothing to count yet)."""

    routine_id: uuid.UUID
    meetings_due: int
    meetings_held_as_scheduled: int
    held_as_scheduled_rate: float | None
    packs_published_before_meeting: int
    packs_on_time_rate: float | None
    actions_due: int
    actions_done_on_time: int
    actions_on_time_rate: float | None
    actions_open_overdue: int


class CalendarFeedOut(BaseModel):
    url: str = Field(description="A secret URL for calendar apps; shown once, a new call replaces it")
    subject: str
