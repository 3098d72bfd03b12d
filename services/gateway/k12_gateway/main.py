"""The gateway: the public edge (/api/v1, /webhooks, /auth) and the SPA-facing API (/app/v1)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from k12shared.app import create_service_app
from k12_gateway.audit.router import router as audit_router
from k12_gateway.auth.router import router as auth_router
from k12_gateway.clients.router import router as clients_router
from k12_gateway.edge.conditional import ConditionalGetMiddleware
from k12_gateway.edge.idempotency import IdempotencyMiddleware
from k12_gateway.edge.ratelimit import RateLimitMiddleware
from k12_gateway.edge.state import close_edge_pool, open_edge_pool
from k12_gateway.openapi import MergedOpenAPI
from k12_gateway.proxy.router import router as proxy_router
from k12_gateway.proxy.routes import ROUTE_PREFIXES
from k12_gateway.screens.cache import ScreenCache
from k12_gateway.screens.router import router as screens_router
from k12_gateway.users.router import router as users_router


async def upstreams_ready(app: FastAPI) -> dict[str, Any]:
    report = {}
    for service in ROUTE_PREFIXES:
        try:
            response = await app.state.services[service].get("/readyz", token=None, retry=False, timeout=2.0)
            report[service] = {"status": "ok" if response.status_code == 200 else "not_ready"}
        except Exception as exc:
            report[service] = {"status": "unreachable", "error": type(exc).__name__}
    return report


app = create_service_app(
    "gateway",
    title="K12 Perform API",
    description=(
        "Performance management for school district leaders. Authenticate with a bearer token from "
        "`POST /auth/token` (OAuth2 client credentials). Errors are RFC 9457 problem+json."
    ),
    # The catch-all proxy goes last so the gateway's own routes win.
    routers=[auth_router, clients_router, users_router, audit_router, screens_router, proxy_router],
    streaming_paths=("/api/v1/ingest/uploads", "/api/v1/ingest/rosters"),
    readiness_checks=[upstreams_ready],
    on_startup=[open_edge_pool],
    on_shutdown=[close_edge_pool],
    # Served below, merged with every service's document.
    openapi_url=None,
    docs_url=None,
    redoc_url=None,
)
app.state.screen_cache = ScreenCache(app.state.settings.screen_cache_fresh_s)
# Edge layers sit inside the request-context middleware (so refusals are logged with their request id),
# outermost first: rate limit, then idempotency keys, then conditional GET.
app.user_middleware.extend(Middleware(layer) for layer in (RateLimitMiddleware, IdempotencyMiddleware, ConditionalGetMiddleware))
# CORS outside everything: a preflight is answered before any other layer sees it.
app.add_middleware(
    CORSMiddleware,
    allow_origins=app.state.settings.allowed_origins,
    allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allow_headers=["authorization", "content-type", "idempotency-key", "if-none-match", "x-request-id"],
    expose_headers=[
        "etag",
        "location",
        "retry-after",
        "idempotent-replayed",
        "x-request-id",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "ratelimit-policy",
    ],
    max_age=600,
)
_merged = MergedOpenAPI()


@app.get("/openapi.json", include_in_schema=False)
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(await _merged.document(request.app))


@app.get("/docs", include_in_schema=False)
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="K12 Perform API")


# The reference web app, last: every API route above wins over a file of the same name.
if app.state.settings.web_app_dir.is_dir():
    app.mount("/", StaticFiles(directory=app.state.settings.web_app_dir, html=True), name="web-app")
