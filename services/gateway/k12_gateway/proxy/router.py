from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import Response

from k12shared.auth.tokens import verify_token
from k12shared.errors import NotFound, Unauthorized
from k12_gateway.proxy.forward import forward
from k12_gateway.proxy.routes import owner_of

router = APIRouter(include_in_schema=False)
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_READS = {"GET", "HEAD", "OPTIONS"}
# Capability URLs: the secret in the path is the credential (calendar apps send no bearer token).
_SECRET_URL_READS = re.compile(r"^/api/v1/calendars/[^/]+\.ics$")


async def _proxy(request: Request, check_token: bool) -> Response:
    service = owner_of(request.url.path)
    if service is None:
        raise NotFound("No such route")
    if check_token and getattr(request.state, "principal", None) is None:
        # Refuse forged tokens at the edge too (the rate limiter has usually verified it already);
        # each service still verifies for itself.
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise Unauthorized()
        request.state.principal = await verify_token(auth[7:], request.app.state.settings, request.app.state.keyring)
    upstream = request.app.state.services[service]
    response = await forward(request, request.app.state.http_transport, upstream.base_url, service)
    if request.method not in _READS and response.status_code < 400:
        _forget_screens_of_writer(request)
    return response


def _forget_screens_of_writer(request: Request) -> None:
    """After a write, the writer's districts' kept screens are out of date (a platform-wide writer: every screen)."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        request.app.state.screen_cache.forget_districts(principal.district_ids or None)


async def proxy_api(request: Request) -> Response:
    public = request.method in {"GET", "HEAD"} and _SECRET_URL_READS.match(request.url.path) is not None
    return await _proxy(request, check_token=not public)


async def proxy_webhooks(request: Request) -> Response:
    # Webhooks authenticate by signature, verified by the ingest service on the raw body.
    return await _proxy(request, check_token=False)


# Plain routes, not FastAPI's: a forwarded request has no parameters to validate or dependencies to solve.
router.add_route("/api/v1/{path:path}", proxy_api, methods=_METHODS, include_in_schema=False)
router.add_route("/webhooks/{path:path}", proxy_webhooks, methods=_METHODS, include_in_schema=False)
