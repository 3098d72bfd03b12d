from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ActionStatus = Literal["open", "in_progress", "done", "dropped"]


class ActionIn(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=200, description="User subject of who will do it")
    due_date: date
    meeting_id: uuid.UUID | None = Field(None, description="The meeting that agreed it")
    goal_id: uuid.UUID | None = None
    district_id: uuid.UUID | None = Field(None, description="Taken from the meeting or goal; else the caller's district")
    school_id: uuid.UUID | None = Field(None, description="The school it concerns (the goal's when omitted)")


class ActionPatch(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=500)
    owner: str | None = Field(None, min_length=1, max_length=200)
    due_date: date | None = None


class StatusChangeIn(BaseModel):
    status: ActionStatus
    note: str | None = Field(None, max_length=5000)


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    from_status: ActionStatus | None
    to_status: ActionStatus
    note: str | None
    changed_by: str
    changed_at: datetime


class ActionOut(BaseModel):
    id: uuid.UUID
    district_id: uuid.UUID
    school_id: uuid.UUID | None
    title: str
    owner: str
    owner_name: str | None = Field(None, description="The owner's display name, when the owner is a platform user")
    due_date: date
    meeting_id: uuid.UUID | None
    goal_id: uuid.UUID | None
    status: ActionStatus
    overdue: bool
    completed_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    history: list[StatusChangeOut] | None = None
