"""A framework document: every rule, threshold and cut-off is data, validated here."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Parameter(BaseModel):
    value: float
    description: str = Field(min_length=1, max_length=1000)


class Input(BaseModel):
    metric: str = Field(max_length=64)
    subgroup: str = Field(default="all", max_length=40)


class Level(BaseModel):
    name: str = Field(max_length=40)
    threshold: str = Field(description="Name of the parameter holding the lowest value rated at this level")
    share: str = Field(description="Name of the parameter holding the share of the component's points this level earns")


class Component(BaseModel):
    key: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    name: str = Field(max_length=200)
    points_possible: float = Field(gt=0)
    inputs: list[Input] = Field(min_length=1, description="Observations read; the component's value is their mean")
    rule: Literal["status"] = "status"
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better"
    levels: list[Level] = Field(min_length=1, description="Best level first")


class Classification(BaseModel):
    name: str = Field(max_length=64)
    min_percent: float = Field(ge=0, le=100)


class FrameworkDocument(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9\-_]{1,64}$")
    version: int = Field(ge=1, le=32000)
    name: str = Field(max_length=200)
    state_code: str | None = Field(default=None, min_length=2, max_length=2)
    description: str = ""
    components: list[Component] = Field(min_length=1)
    parameters: dict[str, Parameter]
    classification: list[Classification] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> FrameworkDocument:
        keys = [c.key for c in self.components]
        if len(set(keys)) != len(keys):
            raise ValueError("component keys must be unique")
        for component in self.components:
            for level in component.levels:
                for name in (level.threshold, level.share):
                    if name not in self.parameters:
                        raise ValueError(f"component '{component.key}' level '{level.name}' names unknown parameter '{name}'")
        cuts = [c.min_percent for c in self.classification]
        if cuts != sorted(cuts, reverse=True):
            raise ValueError("classification must list the highest cut-off first")
        return self

    def param(self, name: str) -> float:
        return self.parameters[name].value


class FrameworkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    version: int
    name: str
    state_code: str | None
    created_at: datetime
    document: FrameworkDocument
