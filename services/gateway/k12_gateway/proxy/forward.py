"""Forward a request to the owning service, streaming both ways.

Sent through the process's httpx transport (its connection pool) rather than its client: a proxy passes
answers on as they are, so the client's layers (cookie jar, redirects, auth, event hooks) would only cost
time, and a cookie one caller's answer set must never ride along on another caller's request."""

from __future__ import annotations

import functools
import logging

import httpx
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from k12shared.errors import problem_response
from k12shared.http import upstream_timeout
from k12shared.observability import REQUEST_ID_HEADER, request_id_var

log = logging.getLogger("k12.gateway.proxy")

# RFC 9110 §7.6.1 hop-by-hop headers, plus those the proxy sets itself.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "x-request-id",
}


_IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "DELETE"}
BUFFERED_ANSWER_MAX_BYTES = 256 * 1024
# A reused keep-alive connection the service closed at the same moment: the request never reached it.
_STALE_CONNECTION = (httpx.RemoteProtocolError, httpx.ConnectError)


async def _send(transport: httpx.AsyncBaseTransport, upstream_request: httpx.Request, *, retry_once: bool) -> httpx.Response:
    """Send, trying once more on a fresh connection when a bodyless idempotent request met a closed one."""
    try:
        return await transport.handle_async_request(upstream_request)
    except _STALE_CONNECTION:
        if not retry_once:
            raise
        log.info("retrying on a fresh upstream connection")
        return await transport.handle_async_request(upstream_request)


@functools.lru_cache(maxsize=16)
def _base_url(base_url: str) -> httpx.URL:
    """A service's address parsed once, not on every forwarded request."""
    return httpx.URL(base_url.rstrip("/"))


def _request_headers(request: Request) -> list[tuple[bytes, bytes]]:
    """The caller's headers as the bytes they came in (a header may hold any latin-1 byte), plus the proxy's own."""
    skip = _HOP_BY_HOP | {"x-forwarded-for"}
    headers = [(k, v) for k, v in request.headers.raw if k.decode("latin-1").lower() not in skip]
    client_ip = request.client.host if request.client else ""
    prior = request.headers.get("x-forwarded-for")
    headers.append((b"x-forwarded-for", (f"{prior}, {client_ip}" if prior else client_ip).encode("latin-1")))
    headers.append((b"x-forwarded-proto", request.url.scheme.encode()))
    headers.append((REQUEST_ID_HEADER.encode(), (request_id_var.get() or "").encode("latin-1")))
    return headers


async def forward(request: Request, transport: httpx.AsyncBaseTransport, base_url: str, service: str) -> Response:
    # The path as it came, still percent-encoded: decoded, a %1F or %C3 would not survive a second encoding.
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    url = _base_url(base_url).copy_with(raw_path=raw_path + (b"?" + query if query else b""))
    has_body = request.method not in {"GET", "HEAD", "OPTIONS", "DELETE"} or "content-length" in request.headers
    upstream_request = httpx.Request(
        request.method, url, headers=_request_headers(request), content=request.stream() if has_body else None,
        extensions={"timeout": upstream_timeout(request.app.state.settings).as_dict()},
    )
    try:
        upstream = await _send(transport, upstream_request, retry_once=not has_body and request.method in _IDEMPOTENT)
    except httpx.TimeoutException:
        log.warning("upstream timed out", extra={"upstream": service})
        return problem_response(504, f"The {service} service did not answer in time", slug="upstream-timeout", upstream=service)
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        log.warning("upstream unavailable", extra={"upstream": service, "error": type(exc).__name__})
        return problem_response(503, f"The {service} service is unavailable", slug="upstream-unavailable", upstream=service, headers={"Retry-After": "5"})
    except httpx.HTTPError as exc:
        log.warning("upstream failed", extra={"upstream": service, "error": type(exc).__name__})
        return problem_response(502, f"The {service} service failed", slug="bad-gateway", upstream=service)

    headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
    if _is_small(upstream):
        try:
            body = await _read_raw(upstream)
        except httpx.HTTPError as exc:
            log.warning("upstream failed mid-answer", extra={"upstream": service, "error": type(exc).__name__})
            return problem_response(502, f"The {service} service failed", slug="bad-gateway", upstream=service)
        return Response(body, status_code=upstream.status_code, headers=headers)
    return StreamingResponse(
        upstream.aiter_raw(), status_code=upstream.status_code, headers=headers, background=BackgroundTask(upstream.aclose)
    )


def _is_small(upstream: httpx.Response) -> bool:
    """An answer of known, modest size is passed on whole: streaming costs a task per response."""
    length = upstream.headers.get("content-length")
    return length is not None and length.isdigit() and int(length) <= BUFFERED_ANSWER_MAX_BYTES


async def _read_raw(upstream: httpx.Response) -> bytes:
    """The body as sent (still content-encoded, so its headers hold)."""
    try:
        return b"".join([chunk async for chunk in upstream.aiter_raw()])
    finally:
        await upstream.aclose()
