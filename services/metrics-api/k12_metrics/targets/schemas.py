from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from k12_metrics.periods import parse_one, show


class TrajectoryPoint(BaseModel):
    period: str = Field(examples=["2025-26"])
    value: float

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        return show(parse_one(value))


class Trajectory(BaseModel):
    kind: Literal["linear", "stepped", "points", "explicit"] = Field(
        "linear", description="linear: a straight line; stepped: each point held until the next; points (or explicit): the given points")
    points: list[TrajectoryPoint] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _normalise(self) -> Trajectory:
        if self.kind == "explicit":
            self.kind = "points"
        if self.kind == "points" and not self.points:
            raise ValueError("a 'points' trajectory needs its points")
        return self


class TargetIn(BaseModel):
    org_id: uuid.UUID
    metric: str = Field(max_length=64, examples=["graduation_rate_4yr"])
    subgroup: str = Field("all", max_length=40)
    reference_subgroup: str | None = Field(None, max_length=40, description="For a gap target: the value is subgroup minus this group")
    title: str | None = Field(None, max_length=300)
    baseline_period: str = Field(examples=["2022-23"])
    baseline_value: float
    target_period: str = Field(examples=["2026-27"])
    target_value: float
    trajectory: Trajectory = Field(default_factory=Trajectory)
    tolerance: float = Field(1.0, ge=0, description="How far behind the trajectory (in the metric's unit) is still amber rather than red")

    @model_validator(mode="after")
    def _consistent(self) -> TargetIn:
        base, target = parse_one(self.baseline_period, "baseline_period"), parse_one(self.target_period, "target_period")
        if target <= base:
            raise ValueError("target_period must come after baseline_period")
        for point in self.trajectory.points:
            if not base < parse_one(point.period) <= target:
                raise ValueError(f"trajectory point {point.period} lies outside {self.baseline_period}..{self.target_period}")
        if self.reference_subgroup is not None and self.reference_subgroup == self.subgroup:
            raise ValueError("a gap needs a reference group other than the subgroup")
        return self


class TargetPatch(BaseModel):
    title: str | None = Field(None, max_length=300)
    baseline_period: str | None = None
    baseline_value: float | None = None
    target_period: str | None = None
    target_value: float | None = None
    trajectory: Trajectory | None = None
    tolerance: float | None = Field(None, ge=0)


class PeriodJudgment(BaseModel):
    period: str
    expected: float | None
    actual: float | None
    actual_status: str = Field(description="exact, missing, or why the value cannot be used (suppressed, a range, ...)")
    n: float | None = None
    status: Literal["on_track", "off_track"] | None = None
    rag: Literal["red", "amber", "green"] | None = None
    behind_by: float | None = None
    deviation: float | None = None


class TargetOut(BaseModel):
    id: uuid.UUID
    org_id: uuid.UUID
    district_id: uuid.UUID | None
    metric: str
    subgroup: str
    reference_subgroup: str | None
    kind: Literal["metric", "gap"]
    title: str | None
    baseline_period: str
    baseline_value: float
    target_period: str
    target_value: float
    trajectory: Trajectory
    tolerance: float
    direction: Literal["higher_is_better", "lower_is_better"]
    status: Literal["on_track", "off_track"] | None = Field(description="The latest judged period's status; null before any actual")
    rag: Literal["red", "amber", "green"] | None
    latest: PeriodJudgment | None
    periods: list[PeriodJudgment]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
