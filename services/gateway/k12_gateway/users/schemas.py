from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

DistrictRole = Literal["district_admin", "leader", "staff"]
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class UserIn(BaseModel):
    email: str = Field(max_length=320, pattern=EMAIL, description="The address the person signs in with at the district's identity provider")
    display_name: str = Field(min_length=1, max_length=200, examples=["Dr. Ada Moreno"])
    role: DistrictRole = Field(examples=["leader"])
    school_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500, description="For a leader: the schools they lead")
    district_id: uuid.UUID | None = Field(None, description="Defaults to the caller's district")


class UserUpdate(BaseModel):
    display_name: str | None = Field(None, min_length=1, max_length=200)
    role: DistrictRole | None = None
    school_ids: list[uuid.UUID] | None = Field(None, max_length=500)


class UserOut(BaseModel):
    id: uuid.UUID
    email: str | None
    display_name: str
    district_id: uuid.UUID
    role: DistrictRole
    school_ids: list[uuid.UUID]
    signed_in: bool = Field(description="False until the person first signs in with the identity provider")
    created_at: datetime
