"""The SPA-facing API: one call per screen, composed from the services concurrently."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from k12shared.auth import CurrentPrincipal, Principal, Role
from k12shared.errors import PROBLEM_RESPONSES, NotFound
from k12_gateway.screens import shapes
from k12_gateway.screens.cache import ScreenCache
from k12_gateway.screens.compose import Part, compose, fetch, settled
from k12_gateway.auth import oidc
from k12_gateway.auth.users import DEMO_DISTRICT_STATE_ID
from k12_gateway.screens.schemas import Dashboard, MeetingRoom, MyActions, SignInOptions

router = APIRouter(prefix="/app/v1", tags=["screens"], responses=PROBLEM_RESPONSES)

DUE_SOON_DAYS = 14
GOALS_ON_DASHBOARD = 12
EQUITY_METRIC = "graduation_rate_4yr"


def _with_progress(request: Request, principal: Principal):
    """Each goal's actuals against its trajectory, read concurrently once the goals are known."""

    async def read(page: Any) -> list[dict[str, Any]]:
        goals = shapes.items(page)[:GOALS_ON_DASHBOARD]
        routines = request.app.state.services["routines"]
        progress = await asyncio.gather(*(fetch(routines, "routines", f"/api/v1/goals/{g['id']}/progress", principal) for g in goals))
        return [shapes.goal_card(goal, data, problem) for goal, (data, problem) in zip(goals, progress, strict=True)]

    return read


@router.get("/dashboard", operation_id="getDashboard", summary="The district dashboard in one call", response_model=Dashboard,
    description=(
        "The current accountability score with classification, trend and history; points at risk; the largest equity gaps; "
        "goals with data status, latest judgment and progress; overdue and due-soon actions; the next meetings; the latest data loads. "
        "Parts a service could not give are `null` and listed in `missing`; the screen never fails whole for one service. "
        "A complete screen is kept for the caller a few seconds (the `Age` header says how long ago it was composed; "
        "the caller's own writes through the API drop it at once); `Cache-Control: no-cache` asks for a fresh one."
    ),
)
async def dashboard(
    request: Request, principal: CurrentPrincipal, district: Annotated[uuid.UUID | None, Query(description="For users of several districts")] = None
) -> Response:
    district_id = principal.acting_district(district)
    cache: ScreenCache = request.app.state.screen_cache
    if not cache.enabled:
        body, _ = await _compose_dashboard(request, principal, district_id)
        return _screen_response(body, age_s=0)
    key = ("dashboard", principal, district_id)
    compose = lambda: _compose_dashboard(request, principal, district_id)  # noqa: E731
    kept = None if "no-cache" in request.headers.get("cache-control", "") else cache.fresh(key)
    if kept is not None:
        body, age_s = kept
        if cache.due_for_refresh(age_s):
            cache.refresh_ahead(key, district_id, compose)
        await _audit_read_from_memory(request, principal, district_id)
        return _screen_response(body, age_s=age_s)
    body, composed_here = await cache.compose_once(key, district_id, compose)
    if not composed_here:  # the services audited the call that composed it, not this one
        await _audit_read_from_memory(request, principal, district_id)
    return _screen_response(body, age_s=0)


async def _compose_dashboard(request: Request, principal: Principal, district_id: uuid.UUID) -> tuple[bytes, bool]:
    today = dt.date.today()
    in_district = {"district": str(district_id)}
    parts = [
        Part("district", "metrics", f"/api/v1/orgs/{district_id}"),
        Part("score", "metrics", f"/api/v1/orgs/{district_id}/scores", shape=shapes.score_summary),
        Part("points_at_risk", "metrics", f"/api/v1/orgs/{district_id}/scores/risk", shape=shapes.points_at_risk),
        Part("equity_gaps", "metrics", f"/api/v1/orgs/{district_id}/equity-gaps", {"metric": EQUITY_METRIC}, shape=shapes.largest_gaps),
        Part("goals", "routines", "/api/v1/goals", {**in_district, "limit": GOALS_ON_DASHBOARD}, then=_with_progress(request, principal)),
        Part("overdue_actions", "routines", "/api/v1/actions", {**in_district, "overdue": "true", "limit": 20}, shape=shapes.items),
        Part("due_soon_actions", "routines", "/api/v1/actions",
             {**in_district, "due_before": str(today + dt.timedelta(days=DUE_SOON_DAYS)), "limit": 50}, shape=shapes.due_soon),
        Part("next_meetings", "routines", "/api/v1/meetings", {**in_district, "from": today.isoformat(), "limit": 5}, shape=shapes.upcoming),
        Part("data_loads", "ingest", "/api/v1/ingest/loads", {**in_district, "limit": 5}, shape=shapes.items),
    ]
    screen = await compose(request.app.state.services, principal, parts)
    return Dashboard.model_validate(screen).model_dump_json(by_alias=True).encode(), settled(screen)


def _screen_response(body: bytes, *, age_s: float) -> Response:
    # Private: composed for this caller. The gateway's ETag lets a browser revalidate cheaply.
    return Response(body, media_type="application/json", headers={"age": str(int(age_s)), "cache-control": "private, no-cache"})


async def _audit_read_from_memory(request: Request, principal: Principal, district_id: uuid.UUID) -> None:
    await request.app.state.read_audit.record(request, principal, resource="dashboard", resource_id=district_id,
                                              district_id=district_id, detail={"served_from": "gateway screen cache"})


@router.get("/me/actions", operation_id="getMyActions", summary="The caller's actions, overdue first", response_model=MyActions,
    description="Open and in-progress actions owned by the caller: overdue first, then by due date.",
)
async def my_actions(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    params = [("owner", "me"), ("status", "open"), ("status", "in_progress"), ("limit", 200)]
    screen = await compose(request.app.state.services, principal, [Part("actions", "routines", "/api/v1/actions", params, shape=shapes.items)])
    return {"items": shapes.overdue_first(screen["actions"] or []), "missing": screen["missing"]}


@router.get("/meetings/{meeting_id}/room", operation_id="getMeetingRoom", summary="Agenda, pack, actions and decisions of a meeting",
    response_model=MeetingRoom,
    description="Everything the meeting screen shows, in one call; parts that could not be had are `null` and listed in `missing`.",
)
async def meeting_room(meeting_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    parts = [
        Part("meeting", "routines", f"/api/v1/meetings/{meeting_id}"),
        Part("agenda", "routines", f"/api/v1/meetings/{meeting_id}/agenda"),
        Part("pack", "routines", f"/api/v1/meetings/{meeting_id}/pack"),
        Part("actions", "routines", "/api/v1/actions", {"meeting_id": str(meeting_id), "limit": 100}, shape=shapes.overdue_first_page),
        Part("decisions", "routines", f"/api/v1/meetings/{meeting_id}/decisions", shape=shapes.items),
    ]
    screen = await compose(request.app.state.services, principal, parts)
    if {"part": "meeting", "reason": "routines answered 404"} in screen["missing"]:
        raise NotFound("No such meeting", field="meeting_id")
    return screen


@router.get("/sign-in-options", operation_id="getSignInOptions", summary="How the web app signs a user in", response_model=SignInOptions,
    openapi_extra={"security": []},  # asked before anyone is signed in
    description="In development, a picker of demo users; otherwise the configured identity provider.",
)
async def sign_in_options(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    return {
        "dev_sign_in": not settings.is_production,
        "demo_roles": [Role.district_admin, Role.leader, Role.staff, Role.platform_admin] if not settings.is_production else [],
        "demo_district": DEMO_DISTRICT_STATE_ID,
        "identity_provider": await oidc.provider(settings),
    }
