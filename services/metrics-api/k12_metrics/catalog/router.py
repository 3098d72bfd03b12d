from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from k12shared import audit
from k12shared.auth import MetricsReader
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import Metric, Observation
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_metrics.access import visible_observations
from k12_metrics.periods import parse_range, show
from k12_metrics.suppression import hidden_cells, key_of

router = APIRouter(prefix="/api/v1", tags=["catalog"], responses=PROBLEM_RESPONSES)


class MetricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    unit: str
    direction: str
    category: str
    source: str
    privacy: str
    description: str
    min_value: float | None
    max_value: float | None


class ObservationOut(BaseModel):
    org_id: uuid.UUID
    metric: str
    subgroup: str
    period: str
    status: str
    value: float | None
    lower: float | None
    upper: float | None
    lower_inclusive: bool | None
    upper_inclusive: bool | None
    published_as: str | None
    n: float | None
    visibility: str


def observation_out(o: Observation, hidden: bool = False) -> ObservationOut:
    if hidden:  # a private cell below the threshold, or one that would reveal such a cell
        return ObservationOut(org_id=o.org_id, metric=o.metric_code, subgroup=o.subgroup_code, period=show(o.school_year), status="suppressed",
                              value=None, lower=None, upper=None, lower_inclusive=None, upper_inclusive=None, published_as=None, n=None,
                              visibility=o.visibility)
    exact = o.status == "exact"
    num = lambda v: None if v is None else float(v)  # noqa: E731
    return ObservationOut(
        org_id=o.org_id, metric=o.metric_code, subgroup=o.subgroup_code, period=show(o.school_year), status=o.status,
        value=num(o.value) if exact else None,  # never reveal a protected value
        lower=num(o.lower), upper=num(o.upper), lower_inclusive=o.lower_inclusive, upper_inclusive=o.upper_inclusive,
        published_as=o.published_as, n=num(o.denominator), visibility=o.visibility,
    )


@router.get("/metrics", operation_id="listMetrics", summary="The metric catalog")
async def list_metrics(session: SessionDep, _: MetricsReader, category: str | None = None) -> list[MetricOut]:
    stmt = select(Metric).order_by(Metric.category, Metric.code)
    if category:
        stmt = stmt.where(Metric.category == category)
    return [MetricOut.model_validate(m) for m in (await session.scalars(stmt))]


_KEY = [Observation.org_id, Observation.metric_code, Observation.subgroup_code, Observation.school_year]


@router.get("/observations", operation_id="listObservations", summary="Observations by org, metric, subgroup and period (JSON or CSV)",
            response_model=Page[ObservationOut], responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def list_observations(
    session: SessionDep,
    principal: MetricsReader,
    request: Request,
    org: Annotated[list[uuid.UUID] | None, Query()] = None,
    metric: Annotated[list[str] | None, Query()] = None,
    subgroup: Annotated[list[str] | None, Query()] = None,
    period: Annotated[str | None, Query(description="2015-16, or a range 2019-20..2022-23")] = None,
    format: Literal["json", "csv"] = "json",
    cursor: CursorParam = None,
    limit: LimitParam = 100,
):
    stmt = select(Observation).where(visible_observations(principal))
    if org:
        stmt = stmt.where(Observation.org_id.in_(org))
    if metric:
        stmt = stmt.where(Observation.metric_code.in_(metric))
    if subgroup:
        stmt = stmt.where(Observation.subgroup_code.in_(subgroup))
    if period:
        low, high = parse_range(period)
        stmt = stmt.where(Observation.school_year.between(low, high))
    rows, next_cursor = await paginate(session, stmt, _KEY, cursor=cursor, limit=limit)
    hidden = await hidden_cells(session, rows)
    items = [observation_out(r, key_of(r) in hidden) for r in rows]
    for district_id in sorted({r.district_id for r in rows if r.visibility == "district"}, key=str):
        await audit.record(session, request, principal, action="read", resource="observations", district_id=district_id)
    if format == "csv":
        return Response(_csv(items), media_type="text/csv", headers={"x-next-cursor": next_cursor or ""})
    return Page(items=items, next_cursor=next_cursor)


def _csv(items: list[ObservationOut]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ObservationOut.model_fields))
    writer.writeheader()
    for item in items:
        writer.writerow(item.model_dump(mode="json"))
    return buffer.getvalue()
