"""What each screen answers. Parts owned by a service pass through as that service shaped them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Item = dict[str, Any]


class MissingPart(BaseModel):
    part: str = Field(examples=["equity_gaps"])
    reason: str = Field(examples=["metrics answered 404"], description="Why the part could not be had: `<service> unavailable`, `timed out` or `answered <status>`")


class ScorePoint(BaseModel):
    period: str = Field(examples=["2023-24"])
    percent_of_possible: float | None
    points_earned: float | None = None
    points_possible: float | None = None
    classification: str | None = None


class Trend(BaseModel):
    direction: Literal["up", "down", "flat", "unknown"]
    change_percent_points: float | None = Field(None, description="Percent of possible now minus the previous year's")
    previous_period: str | None = None


class ScoreSummary(BaseModel):
    framework: Item
    period: str = Field(examples=["2023-24"])
    points_earned: float
    points_possible: float
    percent_of_possible: float | None
    classification: str | None = Field(examples=["Accredited"])
    components_without_data: list[str] = Field(
        default_factory=list, description="Components with no data for the year: left out of points possible, so the score covers the rest only", examples=[["college_career_readiness"]]
    )
    trend: Trend
    history: list[ScorePoint] = Field(description="The stored score of each year, oldest first")


class RiskItem(BaseModel):
    key: str
    name: str
    points_lost: float
    percentage_points: float | None = Field(description="How far above the lower level's cut the component is")
    students_margin: int | None
    text: str | None


class PointsAtRisk(BaseModel):
    period: str
    total_points: float = Field(description="Points lost if every component within the margin dropped one level")
    margin_percentage_points: float
    components: list[RiskItem]


class GoalCard(BaseModel):
    id: str
    title: str
    metric: str
    subgroup: str
    owner: str
    target_period: str
    target_value: float
    data_status: Item | None = Field(None, description="On or off trajectory, from metrics-api")
    latest_judgment: Item | None
    progress: Item | None = Field(None, description="Actuals against the expected trajectory (for a chart)")
    progress_missing: str | None = Field(None, description="Why the progress could not be had")


class DataLoad(BaseModel):
    """A source of the district's numbers: a state file that brought it data, or one of its SIS feeds."""

    id: str
    kind: str = Field(description="`upload` or `feed` (state files), `sis`")
    source: str = Field(description="The file's mapping profile or the SIS source's name")
    status: str
    observations: int | None = Field(description="The district's observations in the file, or the records in the latest delivery")
    observations_changed: int | None
    loaded_at: str | None


class Dashboard(BaseModel):
    district: Item | None
    score: ScoreSummary | None
    points_at_risk: PointsAtRisk | None
    equity_gaps: list[Item] | None = Field(description="The largest gaps first")
    goals: list[GoalCard] | None
    overdue_actions: list[Item] | None
    due_soon_actions: list[Item] | None
    next_meetings: list[Item] | None
    data_loads: list[DataLoad] | None
    missing: list[MissingPart]


class MyActions(BaseModel):
    items: list[Item] = Field(description="Overdue first, then by due date")
    missing: list[MissingPart]


class MeetingRoom(BaseModel):
    meeting: Item | None
    agenda: Item | None
    pack: Item | None
    actions: list[Item] | None
    decisions: list[Item] | None
    missing: list[MissingPart]


class IdentityProvider(BaseModel):
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    client_id: str = Field(description="The web app's client id at the provider (a public client: PKCE, no secret)")
    scope: str = Field(examples=["openid email profile"])


class SignInOptions(BaseModel):
    dev_sign_in: bool = Field(description="Development only: pick a demo user (`POST /auth/dev-token`)")
    demo_roles: list[str] = Field(examples=[["district_admin", "leader", "staff"]])
    demo_district: str = Field(description="State id of the demo district", examples=["096088"])
    identity_provider: IdentityProvider | None = Field(None, description="Where people sign in outside development (OpenID Connect, authorization code with PKCE)")
