from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    status: JobStatus
    profile_code: str
    profile_version: int
    file_name: str | None
    file_bytes: int
    file_sha256: str
    feed_id: uuid.UUID | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    observations_changed: int
    observations_unchanged: int
    progress: float
    attempts: int
    cancel_requested: bool
    message: str | None
    result: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RowErrorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    line: int
    column: str | None
    reason: str
    raw: str | None
