from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


MAX_RECORDS_PER_DELIVERY = 10_000


class SourceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    vendor: str = Field(min_length=1, max_length=100, description="e.g. PowerSchool, Infinite Campus, Skyward")
    district_id: uuid.UUID | None = Field(None, description="The caller's district when omitted")


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    vendor: str
    district_id: uuid.UUID
    webhook_path: str = ""
    previous_secret_expires_at: datetime | None
    created_at: datetime


class SourceWithSecret(SourceOut):
    secret: str = Field(description="whsec_… signing secret: shown once, store it in the SIS")


class DeliveryIn(BaseModel):
    resource: Literal["schools", "studentSchoolAttendanceEvents", "studentSchoolAssociations", "studentAssessments"]
    action: Literal["upsert", "delete"] = "upsert"
    data: list[dict[str, Any]] = Field(max_length=MAX_RECORDS_PER_DELIVERY)


class DeliveryAccepted(BaseModel):
    webhook_id: str
    status: Literal["queued", "duplicate"]
    delivery_id: int | None = None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: str
    status: str
    records: int
    quarantined: int
    error: str | None
    received_at: datetime
    processed_at: datetime | None


class QuarantinedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource: str
    action: str
    school_ref: str
    school_year: int | None
    reason: str
    created_at: datetime
