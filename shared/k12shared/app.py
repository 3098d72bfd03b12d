"""Build a K12 Perform service: the same conventions for every FastAPI app of the platform."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from k12shared.auth.deps import CurrentPrincipal
from k12shared.auth.keys import Keyring
from k12shared.db import create_engine, database_revision, session_factory
from k12shared.errors import install_problem_handlers, problem_response
from k12shared.http import ServiceClient, pooled_client, pooled_transport
from k12shared.memory import freeze_startup_heap
from k12shared.migrate import head_revision
from k12shared.observability import RequestContextMiddleware, configure_logging
from k12shared.settings import Settings, get_settings

Hook = Callable[[FastAPI], Awaitable[None]]


def create_service_app(
    name: str,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    settings: Settings | None = None,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    streaming_paths: tuple[str, ...] = (),
    readiness_checks: Sequence[Callable[[FastAPI], Awaitable[dict[str, Any]]]] = (),
    openapi_tags: list[dict[str, Any]] | None = None,
    **fastapi_options: Any,
) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = create_engine(settings)
        app.state.sessions = session_factory(app.state.engine)
        # One pool of connections: the client's, and the gateway's proxy sends through it directly.
        app.state.http_transport = pooled_transport(settings)
        app.state.http = pooled_client(settings, app.state.http_transport)
        app.state.services = {
            "metrics": ServiceClient(app.state.http, settings.metrics_url),
            "routines": ServiceClient(app.state.http, settings.routines_url),
            "ingest": ServiceClient(app.state.http, settings.ingest_url),
            "gateway": ServiceClient(app.state.http, settings.gateway_url),
        }
        for hook in on_startup:
            await hook(app)
        freeze_startup_heap()
        try:
            yield
        finally:
            for hook in on_shutdown:
                await hook(app)
            await app.state.http.aclose()
            await app.state.engine.dispose()

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        **fastapi_options,
    )
    app.state.settings = settings
    app.state.service_name = name
    app.state.keyring = Keyring(settings)
    install_problem_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        streaming_paths=streaming_paths,
        max_stream_bytes=settings.max_upload_bytes,
    )
    app.include_router(_health_router(readiness_checks))
    for router in routers:
        app.include_router(router)
    return app


def _health_router(checks: Sequence[Callable[[FastAPI], Awaitable[dict[str, Any]]]]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/internal/whoami", include_in_schema=False)
    async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        """Who this service takes the caller to be: for operators checking a token's reach."""
        return {
            "subject": principal.subject,
            "kind": principal.kind,
            "roles": sorted(principal.roles),
            "districts": sorted(str(d) for d in principal.district_ids),
            "scopes": sorted(principal.scopes),
        }

    @router.get("/healthz", operation_id="healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", operation_id="readyz", summary="Readiness: database reachable and at the migration head")
    async def readyz(request: Request) -> JSONResponse:
        report: dict[str, Any] = {"database": await _database_status(request.app)}
        for check in checks:
            report.update(await check(request.app))
        ready = all(part.get("status") == "ok" for part in report.values())
        if ready:
            return JSONResponse({"status": "ready", **report})
        return problem_response(503, "Not ready", slug="not-ready", checks=report)

    return router


async def _database_status(app: FastAPI) -> dict[str, Any]:
    try:
        async with app.state.engine.connect() as conn:
            await conn.execute(text("select 1"))
        current = await database_revision(app.state.engine)
    except Exception as exc:  # any failure here means "not ready", with the reason
        return {"status": "unreachable", "error": type(exc).__name__}
    expected = head_revision()
    if current != expected:
        return {"status": "not_at_head", "revision": current, "head": expected}
    return {"status": "ok", "revision": current}
