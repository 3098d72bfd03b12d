"""The internal HTTP client: pooled, with timeouts, request id and the caller's identity passed on."""

from __future__ import annotations

from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from k12shared.observability import REQUEST_ID_HEADER, request_id_var
from k12shared.settings import Settings

RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


def upstream_timeout(settings: Settings) -> httpx.Timeout:
    return httpx.Timeout(settings.upstream_read_timeout_s, connect=settings.upstream_connect_timeout_s)


def pooled_transport(settings: Settings) -> httpx.AsyncBaseTransport:
    """The connection pool behind a process's outgoing calls."""
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            max_connections=settings.upstream_pool_size,
            max_keepalive_connections=settings.upstream_pool_size,
            keepalive_expiry=settings.upstream_keepalive_expiry_s,
        )
    )


def pooled_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=upstream_timeout(settings), transport=transport or pooled_transport(settings))


def forwarded_headers(token: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = dict(extra or {})
    rid = request_id_var.get()
    if rid:
        headers[REQUEST_ID_HEADER] = rid
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


class ServiceClient:
    """Calls one K12 Perform service. Idempotent requests are retried on connection failures."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    async def request(self, method: str, path: str, *, token: str | None, retry: bool | None = None, **kwargs: Any) -> httpx.Response:
        headers = forwarded_headers(token, kwargs.pop("headers", None))
        url = self.base_url + path
        attempts = 3 if (retry if retry is not None else method in {"GET", "HEAD", "PUT", "DELETE"}) else 1
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=0.05, max=0.5),
            retry=retry_if_exception_type(RETRYABLE),
            reraise=True,
        ):
            with attempt:
                return await self.client.request(method, url, headers=headers, **kwargs)
        raise AssertionError("unreachable")

    async def get(self, path: str, *, token: str | None, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, token=token, **kwargs)

    async def post(self, path: str, *, token: str | None, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, token=token, **kwargs)
