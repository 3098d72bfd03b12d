from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from k12shared.models import OrgType


class OrgIn(BaseModel):
    type: OrgType
    name: str = Field(min_length=1, max_length=300)
    state_code: str = Field(min_length=2, max_length=2, description="Two-letter state code, e.g. MO")
    parent_id: uuid.UUID | None = Field(None, description="The district of a school, the state of a district")
    nces_id: str | None = Field(None, pattern=r"^\d{2}\d{5}(\d{5})?$", description="LEAID (7 digits) or NCESSCH (12 digits)")
    state_id: str | None = Field(None, max_length=40, description="The state's own identifier, e.g. Missouri county-district code 096088")
    edfi_id: str | None = Field(None, max_length=40)
    timezone: str = "America/Chicago"
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("state_code")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"type": "district", "name": "Hazelwood", "state_code": "MO", "state_id": "096088", "nces_id": "2914700"}]
        }
    )


class OrgPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=300)
    nces_id: str | None = Field(None, pattern=r"^\d{7}(\d{5})?$")
    state_id: str | None = Field(None, max_length=40)
    edfi_id: str | None = Field(None, max_length=40)
    timezone: str | None = None
    attributes: dict[str, Any] | None = None


class OrgOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: OrgType
    name: str
    state_code: str
    parent_id: uuid.UUID | None
    district_id: uuid.UUID | None
    nces_id: str | None
    state_id: str | None
    edfi_id: str | None
    timezone: str
    attributes: dict[str, Any]


class OrgResolveItem(OrgIn):
    """An organization named in a feed: found by its identifiers, created when unknown."""

    parent_nces_id: str | None = None
    parent_state_id: str | None = None


class OrgResolveRequest(BaseModel):
    items: list[OrgResolveItem] = Field(max_length=100_000)


class OrgResolveResult(BaseModel):
    ids: list[uuid.UUID]
    created: int
