from __future__ import annotations

import uuid
from datetime import datetime

from croniter import croniter
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator


def _valid_cron(value: str) -> str:
    if not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a cron expression (e.g. '0 6 * * *')")
    return value


class FeedIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    url: AnyHttpUrl
    profile: str = Field(description="Profile code the file is read with")
    schedule: str = Field("0 6 * * *", description="Cron expression (UTC) for when to check the URL")
    enabled: bool = True

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        return _valid_cron(v)


class FeedPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    url: AnyHttpUrl | None = None
    schedule: str | None = None
    enabled: bool | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        return v if v is None else _valid_cron(v)


class FeedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    url: str
    profile: str = Field(validation_alias="profile_code")
    schedule: str
    enabled: bool
    etag: str | None
    last_modified: str | None
    last_checked_at: datetime | None
    last_status: str | None
    last_job_id: uuid.UUID | None
    next_run_at: datetime | None
    created_at: datetime


class FeedRunOut(BaseModel):
    feed_id: uuid.UUID
    queued: bool
