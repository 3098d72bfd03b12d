from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field


class RosterDelivery(BaseModel):
    resource: Literal["schools", "studentSchoolAssociations"]
    records: int
    delivery_id: int | None = Field(description="The queued delivery; null when this archive was sent before")


class RosterAccepted(BaseModel):
    source_id: uuid.UUID
    archive_sha256: str
    status: Literal["queued", "duplicate"] = Field(description="duplicate: the same archive was sent before and changes nothing")
    oneroster_version: str | None
    schools: int
    student_school_associations: int
    rows_skipped: int = Field(description="Rows that could not be used (reasons in problems, the first 50)")
    problems: list[str]
    ignored_members: list[str] = Field(description="Archive members not read (users.csv among them: no names are kept)")
    deliveries: list[RosterDelivery] = Field(description="Follow them at /api/v1/ingest/sis-sources/{source_id}/deliveries")
