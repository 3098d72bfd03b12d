"""What a mapping profile says: how a file's columns become observations.

Column references are case-insensitive regular expressions matched against the whole header
name (``YEAR`` matches ``year``; ``ALL_RATE_\\d{4}`` matches ``ALL_RATE_1516`` and ``ALL_RATE_1617``).
``{sg}`` in a measure's columns is replaced by each key of its ``subgroups`` crosswalk.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,79}$"


class FieldSpec(BaseModel):
    """A value taken from a column (optionally zero-padded or mapped) or a constant."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = None
    constant: str | None = None
    pad: int | None = Field(None, ge=1, le=20, description="Left-pad with zeros to this width (Missouri codes: 6)")
    map: dict[str, str] | None = Field(None, description="Crosswalk of the file's codes to the platform's")
    title_case: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if (self.column is None) == (self.constant is None):
            raise ValueError("give exactly one of column or constant")
        return self


Spec = Annotated[str | FieldSpec, Field(description="A column reference, or {column|constant, pad, map}")]


class OrgSpec(BaseModel):
    """How a row names its organization (and, to create it when unknown, its parent)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["state", "district", "school"] | None = None
    org_id: Spec | None = Field(None, description="A column holding the platform's id, an NCES id or a state id (found, never created)")
    nces_id: Spec | None = None
    state_id: Spec | None = None
    edfi_id: Spec | None = None
    name: Spec | None = None
    name_default: str | None = Field(None, description="Name for a new organization when the file names none; {state_id} and {nces_id} fill in")
    state_code: Spec | None = None
    parent: OrgSpec | None = None


class MeasureSpec(BaseModel):
    """One observation per row (per subgroup of the crosswalk) from a wide file's columns."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    subgroup: str = "all"
    subgroups: dict[str, str] | None = Field(None, description="{sg} in the columns -> the platform's subgroup code")
    value: str
    numerator: str | None = None
    denominator: str | None = None
    zero_means_unpublished: bool = Field(
        False, description="A 0 with no n (or n = 0) is a suppressed cell, not a number (files that write 0 for '*')"
    )


class LongSpec(BaseModel):
    """Columns of a long file: one observation a row."""

    model_config = ConfigDict(extra="forbid")

    metric: str = "metric"
    subgroup: str = "subgroup"
    value: str = "value"
    numerator: str | None = None
    denominator: str | None = "n"


class PeriodSpec(BaseModel):
    """The school year: from a column (2016, 2015-16, 1516) or from a header name's suffix."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = None
    header: str | None = Field(None, description="A column reference whose last 4 digits (e.g. 1516) give the year")
    constant: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PeriodSpec:
        if sum(x is not None for x in (self.column, self.header, self.constant)) != 1:
            raise ValueError("give exactly one of column, header or constant")
        return self


class ProfileDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["wide", "long"]
    description: str | None = None
    delimiter: str = Field(",", min_length=1, max_length=1)
    visibility: Literal["public"] = "public"
    required: list[str] = Field(default_factory=list, description="Columns a file must have; missing ones are named in the refusal")
    org: OrgSpec
    period: PeriodSpec
    measures: list[MeasureSpec] = Field(default_factory=list)
    long: LongSpec | None = None
    subgroup_crosswalk: dict[str, str] = Field(default_factory=dict, description="Long files: the file's subgroup codes -> the platform's")
    metric_crosswalk: dict[str, str] = Field(default_factory=dict, description="Long files: the file's metric names -> the platform's")

    @model_validator(mode="after")
    def _shape(self) -> ProfileDefinition:
        if self.format == "wide" and not self.measures:
            raise ValueError("a wide profile needs measures")
        if self.format == "long" and self.long is None:
            self.long = LongSpec()
        for ref in [*self.required, *(m.value for m in self.measures)]:
            try:
                re.compile(ref.replace("{sg}", ""))
            except re.error as exc:
                raise ValueError(f"column reference {ref!r} is not a valid pattern: {exc}") from None
        return self


class ProfileIn(BaseModel):
    code: str = Field(pattern=CODE_PATTERN, description="Stable code, e.g. mo-dese-district-graduation")
    name: str = Field(min_length=1, max_length=200)
    definition: ProfileDefinition


class ProfileUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    definition: ProfileDefinition


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    version: int
    name: str
    builtin: bool
    definition: dict[str, Any]
    created_at: datetime

    @field_validator("definition", mode="before")
    @classmethod
    def _plain(cls, v: Any) -> Any:
        return v.model_dump(exclude_none=True) if isinstance(v, BaseModel) else v
