"""Capacity reviews: a self-assessment against a delivery-capacity rubric (dimensions stored as
data), each dimension rated 1–4 with evidence, compared with the previous review."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select

from k12shared.auth import Principal, Role, RoutinesReader, Scope, requires
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES, NotFound, Unprocessable
from k12shared.models import CapacityReview, CapacityRubric
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_routines.access import get_visible, resolve_district
from k12_routines.store import record, save

router = APIRouter(tags=["capacity"], responses=PROBLEM_RESPONSES)
CapacityWriter = Annotated[Principal, requires(Scope.routines_write, Role.district_admin)]
DEFAULT_RUBRIC_ID = uuid.UUID("5f0c8a2e-4c61-4d1f-9a57-1d2b3c4d5e60")  # seeded by migration 20261122_0030


class Dimension(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)


class RubricIn(BaseModel):
    district_id: uuid.UUID | None = None
    name: str = Field(min_length=1, max_length=200)
    dimensions: list[Dimension] = Field(min_length=1, max_length=50)


class RubricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    district_id: uuid.UUID | None
    name: str
    dimensions: list[Dimension]


class Rating(BaseModel):
    dimension: str = Field(max_length=64)
    rating: int = Field(ge=1, le=4)
    evidence: str = Field(min_length=1, max_length=10000)


class ReviewIn(BaseModel):
    district_id: uuid.UUID | None = None
    rubric_id: uuid.UUID = DEFAULT_RUBRIC_ID
    reviewed_on: date
    ratings: list[Rating] = Field(min_length=1, max_length=50)


class Comparison(BaseModel):
    dimension: str
    rating: int
    previous_rating: int | None
    change: int | None


class ReviewOut(BaseModel):
    id: uuid.UUID
    district_id: uuid.UUID
    rubric_id: uuid.UUID
    reviewed_on: date
    ratings: list[Rating]
    average: float
    previous_review_id: uuid.UUID | None
    comparison: list[Comparison]
    created_by: str
    created_at: datetime


async def _rubric(session, principal: Principal, rubric_id: uuid.UUID) -> CapacityRubric:
    rubric = await session.get(CapacityRubric, rubric_id)
    if rubric is None or (rubric.district_id is not None and not principal.can_access_district(rubric.district_id)):
        raise NotFound("Rubric not found", field="rubric_id")
    return rubric


async def _previous(session, review: CapacityReview) -> CapacityReview | None:
    return await session.scalar(
        select(CapacityReview)
        .where(
            CapacityReview.district_id == review.district_id,
            CapacityReview.rubric_id == review.rubric_id,
            (CapacityReview.reviewed_on < review.reviewed_on) | ((CapacityReview.reviewed_on == review.reviewed_on) & (CapacityReview.created_at < review.created_at)),
        )
        .order_by(CapacityReview.reviewed_on.desc(), CapacityReview.created_at.desc())
        .limit(1)
    )


async def review_out(session, review: CapacityReview) -> ReviewOut:
    previous = await _previous(session, review)
    before: dict[str, int] = {r["dimension"]: r["rating"] for r in (previous.ratings if previous else [])}
    comparison = [
        Comparison(dimension=r["dimension"], rating=r["rating"], previous_rating=before.get(r["dimension"]), change=r["rating"] - before[r["dimension"]] if r["dimension"] in before else None)
        for r in review.ratings
    ]
    return ReviewOut(
        id=review.id,
        district_id=review.district_id,
        rubric_id=review.rubric_id,
        reviewed_on=review.reviewed_on,
        ratings=review.ratings,
        average=round(sum(r["rating"] for r in review.ratings) / len(review.ratings), 2),
        previous_review_id=previous.id if previous else None,
        comparison=comparison,
        created_by=review.created_by,
        created_at=review.created_at,
    )


@router.get("/api/v1/capacity-rubrics", operation_id="listCapacityRubrics", summary="The default delivery-capacity rubric and the district's own")
async def list_rubrics(session: SessionDep, principal: RoutinesReader, district: uuid.UUID | None = None) -> Page[RubricOut]:
    district_id = resolve_district(principal, district)
    rows = await session.scalars(select(CapacityRubric).where(or_(CapacityRubric.district_id.is_(None), CapacityRubric.district_id == district_id)).order_by(CapacityRubric.created_at))
    return Page(items=[RubricOut.model_validate(r) for r in rows])


@router.post("/api/v1/capacity-rubrics", operation_id="createCapacityRubric", status_code=status.HTTP_201_CREATED, summary="A district's own rubric")
async def create_rubric(data: RubricIn, session: SessionDep, principal: CapacityWriter, request: Request) -> RubricOut:
    codes = [d.code for d in data.dimensions]
    if len(set(codes)) != len(codes):
        raise Unprocessable("Dimension codes must be unique", field="dimensions")
    rubric = await save(session, CapacityRubric(district_id=resolve_district(principal, data.district_id), name=data.name, dimensions=[d.model_dump() for d in data.dimensions]))
    await record(session, request, principal, "create", "capacity_rubric", rubric)
    return RubricOut.model_validate(rubric)


@router.post("/api/v1/capacity-reviews", operation_id="createCapacityReview", status_code=status.HTTP_201_CREATED, summary="Rate each dimension 1–4 with evidence; compared with the previous review")
async def create_review(data: ReviewIn, session: SessionDep, principal: CapacityWriter, request: Request) -> ReviewOut:
    district_id = resolve_district(principal, data.district_id)
    rubric = await _rubric(session, principal, data.rubric_id)
    if rubric.district_id not in (None, district_id):
        raise NotFound("Rubric not found", field="rubric_id")
    expected = {d["code"] for d in rubric.dimensions}
    given = [r.dimension for r in data.ratings]
    if len(set(given)) != len(given) or set(given) != expected:
        raise Unprocessable(f"Rate every dimension of the rubric once: {', '.join(sorted(expected))}", field="ratings")
    review = await save(
        session,
        CapacityReview(district_id=district_id, rubric_id=rubric.id, reviewed_on=data.reviewed_on, ratings=[r.model_dump() for r in data.ratings], created_by=principal.subject),
    )
    await record(session, request, principal, "create", "capacity_review", review)
    return await review_out(session, review)


@router.get("/api/v1/capacity-reviews", operation_id="listCapacityReviews", summary="A district's capacity reviews, newest first")
async def list_reviews(
    session: SessionDep,
    principal: RoutinesReader,
    district: Annotated[uuid.UUID | None, Query()] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ReviewOut]:
    stmt = select(CapacityReview).where(CapacityReview.district_id == resolve_district(principal, district))
    rows, next_cursor = await paginate(session, stmt, [CapacityReview.id], cursor=cursor, limit=limit)
    items = sorted([await review_out(session, r) for r in rows], key=lambda r: (r.reviewed_on, r.created_at), reverse=True)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/api/v1/capacity-reviews/{review_id}", operation_id="getCapacityReview", summary="One capacity review with its comparison")
async def get_review(review_id: uuid.UUID, session: SessionDep, principal: RoutinesReader) -> ReviewOut:
    return await review_out(session, await get_visible(session, CapacityReview, review_id, principal, "Capacity review"))


