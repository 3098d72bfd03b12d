from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from k12_routines import periods

Rating = Literal["green", "amber_green", "amber_red", "red"]


class PlanIn(BaseModel):
    district_id: uuid.UUID | None = Field(None, description="The caller's district when omitted")
    school_year: str = Field(examples=["2025-26"])
    title: str = Field(min_length=1, max_length=300)
    aspiration: str | None = Field(None, max_length=5000)

    @field_validator("school_year")
    @classmethod
    def _year(cls, value: str) -> str:
        return periods.show(periods.parse(value, "school_year"))


class PlanPatch(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=300)
    aspiration: str | None = Field(None, max_length=5000)


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    district_id: uuid.UUID
    school_year: str
    title: str
    aspiration: str | None
    created_by: str
    created_at: datetime


class TrajectoryPoint(BaseModel):
    period: str = Field(examples=["2026-27"])
    value: float

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        return periods.show(periods.parse(value))


class Trajectory(BaseModel):
    kind: Literal["linear", "stepped", "points"] = "linear"
    points: list[TrajectoryPoint] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _points_needed(self) -> "Trajectory":
        if self.kind == "points" and not self.points:
            raise ValueError("a 'points' trajectory needs its points")
        return self


class ChainLink(BaseModel):
    """One link of the delivery chain: a person or team who carries the goal to the classroom."""

    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200, examples=["principal", "instructional coach"])
    subject: str | None = Field(None, max_length=200, description="Their user subject, when they have one")


class GoalIn(BaseModel):
    plan_id: uuid.UUID
    title: str = Field(min_length=1, max_length=300)
    metric: str = Field(max_length=64, examples=["graduation_rate_4yr"])
    subgroup: str = Field("all", max_length=40)
    org_id: uuid.UUID | None = Field(None, description="Whose numbers (the plan's district when omitted)")
    school_id: uuid.UUID | None = Field(None, description="The school the goal concerns, if one")
    baseline_period: str = Field(examples=["2024-25"])
    baseline_value: float
    target_period: str = Field(examples=["2027-28"])
    target_value: float
    trajectory: Trajectory = Field(default_factory=Trajectory)
    owner: str | None = Field(None, max_length=200, description="User subject; the caller when omitted")
    delivery_chain: list[ChainLink] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _periods_in_order(self) -> "GoalIn":
        if periods.parse(self.target_period, "target_period") <= periods.parse(self.baseline_period, "baseline_period"):
            raise ValueError("target_period must come after baseline_period")
        return self


class GoalPatch(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=300)
    owner: str | None = Field(None, max_length=200)
    delivery_chain: list[ChainLink] | None = Field(None, max_length=50)


class JudgmentIn(BaseModel):
    rating: Rating
    rationale: str = Field(min_length=1, max_length=10000)
    meeting_id: uuid.UUID | None = None


class JudgmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    goal_id: uuid.UUID
    meeting_id: uuid.UUID | None
    rating: Rating
    rationale: str
    recorded_by: str
    recorded_at: datetime


class MilestoneIn(BaseModel):
    strategy_id: uuid.UUID
    title: str = Field(min_length=1, max_length=300)
    due_date: date
    owner: str | None = Field(None, max_length=200)


class MilestonePatch(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=300)
    due_date: date | None = None
    status: Literal["planned", "done", "missed"] | None = None


class MilestoneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    strategy_id: uuid.UUID
    title: str
    due_date: date
    owner: str | None
    status: str


class StrategyIn(BaseModel):
    goal_id: uuid.UUID
    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(None, max_length=5000)
    owner: str | None = Field(None, max_length=200)


class StrategyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    goal_id: uuid.UUID
    title: str
    description: str | None
    owner: str | None
    milestones: list[MilestoneOut] = []


class TargetSync(BaseModel):
    target_id: uuid.UUID | None
    status: Literal["synced", "unavailable"]
    error: str | None = None


class GoalOut(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    district_id: uuid.UUID
    school_id: uuid.UUID | None
    title: str
    org_id: uuid.UUID
    metric: str
    subgroup: str
    baseline_period: str
    baseline_value: float
    target_period: str
    target_value: float
    trajectory: Trajectory
    owner: str
    delivery_chain: list[ChainLink]
    target: TargetSync
    latest_judgment: JudgmentOut | None = None
    strategies: list[StrategyOut] | None = None
    created_at: datetime


class PlanDetail(PlanOut):
    goals: list[GoalOut]
