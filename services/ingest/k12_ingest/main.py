"""The ingest service: state files (uploads and pull feeds), mapping profiles, jobs, SIS webhooks."""

from __future__ import annotations

from fastapi import FastAPI

from k12shared.app import create_service_app
from k12_ingest.feeds.router import router as feeds_router
from k12_ingest.jobs.router import router as jobs_router
from k12_ingest.loads.router import router as loads_router
from k12_ingest.profiles.router import router as profiles_router
from k12_ingest.profiles.service import ensure_builtin
from k12_ingest.rosters.router import router as rosters_router
from k12_ingest.sis.router import router as sis_router
from k12_ingest.sis.router import webhooks as webhooks_router


async def _builtin_profiles(app: FastAPI) -> None:
    async with app.state.sessions() as session, session.begin():
        await ensure_builtin(session)


app = create_service_app(
    "ingest",
    title="K12 Perform ingest",
    description="State data feeds, file uploads, SIS webhooks and the jobs that load them.",
    routers=[jobs_router, loads_router, profiles_router, feeds_router, sis_router, rosters_router, webhooks_router],
    on_startup=[_builtin_profiles],
    streaming_paths=("/api/v1/ingest/uploads", "/api/v1/ingest/rosters"),
)
