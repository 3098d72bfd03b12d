from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from k12shared.auth import Scope


class ApiClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["State reporting connector"])
    scopes: list[Scope] = Field(min_length=1, examples=[["metrics:read"]])
    district_id: uuid.UUID | None = Field(None, description="Defaults to the caller's district")


class ApiClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: str
    name: str
    district_id: uuid.UUID | None
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ApiClientWithSecret(ApiClientOut):
    client_secret: str = Field(description="Shown once; store it now")


class RotateIn(BaseModel):
    grace_period_s: int = Field(3600, ge=0, le=7 * 86400, description="How long the previous secret stays valid")
