"""Conditional GET: an ``ETag`` on successful reads through the gateway, ``304`` on ``If-None-Match``.

The tag is a hash of the body (or the service's own ``ETag`` when it sends one). Bodies larger than
``MAX_BUFFERED`` (exports, streams) pass through untouched, still streamed.
"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k12_gateway.edge.caller import AUTHENTICATED_PREFIXES

MAX_BUFFERED = 4 * 1024 * 1024
# What a 304 keeps of the 200 it stands for (RFC 9110 §15.4.5).
_KEPT_ON_304 = {b"etag", b"cache-control", b"vary", b"expires", b"content-location", b"date"}


def _if_none_match(scope: Scope) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == b"if-none-match":
            return value.decode("latin-1")
    return None


def _matches(condition: str, etag: str) -> bool:
    """Weak comparison, as RFC 9110 §13.1.2 asks of If-None-Match."""
    if condition.strip() == "*":
        return True
    strip = lambda tag: tag.strip().removeprefix("W/")  # noqa: E731
    return strip(etag) in {strip(tag) for tag in condition.split(",")}


class ConditionalGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(AUTHENTICATED_PREFIXES):
            await self.app(scope, receive, send)
            return
        condition = _if_none_match(scope)
        held: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passing_through = False

        async def buffered_send(message: Message) -> None:
            nonlocal held, size, passing_through
            if passing_through:
                await send(message)
                return
            if message["type"] == "http.response.start":
                if message["status"] != 200:
                    passing_through = True
                    await send(message)
                else:
                    held = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BUFFERED:
                passing_through = True
                await send(held)
                await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": message.get("more_body", False)})
                return
            if not message.get("more_body", False):
                await _send_tagged(send, held, b"".join(chunks), condition)

        await self.app(scope, receive, buffered_send)


async def _send_tagged(send: Send, start: Message, body: bytes, condition: str | None) -> None:
    headers = list(start.get("headers", []))
    etag = next((v.decode("latin-1") for k, v in headers if k.lower() == b"etag"), None)
    if etag is None:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers.append((b"etag", etag.encode()))
    if not any(k.lower() == b"cache-control" for k, _ in headers):
        # Every response here is the caller's own view: browsers may keep it, shared caches may not.
        headers.append((b"cache-control", b"private, no-cache"))
    if condition is not None and _matches(condition, etag):
        kept = [(k, v) for k, v in headers if k.lower() in _KEPT_ON_304 or k.lower().startswith(b"ratelimit")]
        await send({"type": "http.response.start", "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})
