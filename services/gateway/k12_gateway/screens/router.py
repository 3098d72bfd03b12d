"""The SPA-facing API: one call per screen, composed from the services concurrently."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from k12shared.auth import CurrentPrincipal
from k12shared.errors import PROBLEM_RESPONSES
from k12_gateway.screens.compose import Part, compose

router = APIRouter(prefix="/app/v1", tags=["screens"], responses=PROBLEM_RESPONSES)


@router.get("/dashboard", operation_id="getDashboard", summary="The district dashboard in one call",
    description="Score with classification and trend, points at risk, largest equity gaps, goals with data status and latest judgment, overdue and due-soon actions, next meetings, latest data loads. Parts a service could not give are listed in `missing`.",
)
async def dashboard(
    request: Request, principal: CurrentPrincipal, district: Annotated[uuid.UUID | None, Query(description="For users of several districts")] = None
) -> dict[str, Any]:
    district_id = principal.acting_district(district)
    today = dt.date.today()
    parts = [
        Part("district", "metrics", f"/api/v1/orgs/{district_id}"),
        Part("score", "metrics", f"/api/v1/orgs/{district_id}/scores"),
        Part("risk", "metrics", f"/api/v1/orgs/{district_id}/scores/risk"),
        Part("equity_gaps", "metrics", f"/api/v1/orgs/{district_id}/equity-gaps", {"metric": "graduation_rate_4yr"}),
        Part("goals", "routines", "/api/v1/goals", {"district": str(district_id)}),
        Part("overdue_actions", "routines", "/api/v1/actions", {"overdue": "true", "district": str(district_id)}),
        Part("due_soon_actions", "routines", "/api/v1/actions", {"due_before": str(today + dt.timedelta(days=7)), "district": str(district_id)}),
        Part("next_meetings", "routines", "/api/v1/meetings", {"from": today.isoformat(), "district": str(district_id), "limit": 5}),
        Part("data_loads", "ingest", "/api/v1/ingest/jobs", {"limit": 5}),
    ]
    return await compose(request.app.state.services, principal, parts)


@router.get("/me/actions", operation_id="getMyActions", summary="The caller's actions, overdue first",
    description="Open actions owned by the caller: overdue first, then by due date.",
)
async def my_actions(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    parts = [Part("actions", "routines", "/api/v1/actions", {"owner": principal.subject, "limit": 200})]
    screen = await compose(request.app.state.services, principal, parts)
    items = (screen.get("actions") or {}).get("items", [])
    today = dt.date.today().isoformat()
    items.sort(key=lambda a: (not (a.get("status") in {"open", "in_progress"} and (a.get("due_date") or "9999") < today), a.get("due_date") or "9999"))
    return {"items": items, "missing": screen["missing"]}


@router.get("/meetings/{meeting_id}/room", operation_id="getMeetingRoom", summary="Agenda, pack, actions and decisions of a meeting",
    description="Everything the meeting screen shows, in one call; parts that could not be had are listed in `missing`.",
)
async def meeting_room(meeting_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    parts = [
        Part("meeting", "routines", f"/api/v1/meetings/{meeting_id}"),
        Part("agenda", "routines", f"/api/v1/meetings/{meeting_id}/agenda"),
        Part("pack", "routines", f"/api/v1/meetings/{meeting_id}/pack"),
        Part("actions", "routines", "/api/v1/actions", {"meeting_id": str(meeting_id)}),
    ]
    return await compose(request.app.state.services, principal, parts)
