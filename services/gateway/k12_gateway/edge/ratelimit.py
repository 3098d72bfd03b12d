"""Rate limits per API client, per user and per webhook source: fixed one-minute windows in PostgreSQL.

One UPSERT per request counts the hit and says where the window stands, so every gateway replica
sees the same count. Answers 429 problem+json with ``Retry-After`` and the IETF draft
``RateLimit-Limit`` / ``RateLimit-Remaining`` / ``RateLimit-Reset`` headers (also on allowed responses).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k12shared.errors import PROBLEM_MEDIA_TYPE, problem_body
from k12_gateway.edge.caller import Caller, identify

log = logging.getLogger("k12.gateway.ratelimit")
WINDOW_S = 60
PRUNE_ONE_IN = 500  # amortised clean-up of past windows, off the request path

_HIT = """
insert into edge_rate_limit_windows as w (bucket, window_start, hits)
values ($1, date_bin('60 seconds', now(), timestamptz '1970-01-01'), 1)
on conflict (bucket, window_start) do update set hits = w.hits + 1
returning w.hits, extract(epoch from w.window_start + interval '60 seconds' - now())::float8
"""
# Past windows and expired idempotency keys (a script: asyncpg runs it with the simple protocol).
_PRUNE = """
delete from edge_rate_limit_windows where window_start < now() - interval '120 seconds';
delete from edge_idempotency_keys where expires_at < now();
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_s).encode()),
            (b"ratelimit-policy", f"{self.limit};w={WINDOW_S}".encode()),
        ]


async def hit(pool, caller: Caller) -> Decision:
    hits, seconds_left = await pool.fetchrow(_HIT, caller.bucket)
    reset_s = max(1, math.ceil(seconds_left))
    return Decision(hits <= caller.limit_per_minute, caller.limit_per_minute, max(0, caller.limit_per_minute - hits), reset_s)


async def _prune(pool) -> None:
    try:
        await pool.execute(_PRUNE)
    except Exception as exc:  # clean-up is best effort; the next one catches up
        log.warning("edge state prune failed", extra={"error": type(exc).__name__})


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._background: set[asyncio.Task] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        caller = await identify(scope)
        if caller is None:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        pool = scope["app"].state.edge_pool
        try:
            decision = await hit(pool, caller)
        except Exception as exc:  # fail open: the limiter must not take the API down with it
            log.warning("rate limiter unavailable", extra={"error": type(exc).__name__})
            await self.app(scope, receive, send)
            return
        if random.randrange(PRUNE_ONE_IN) == 0:
            self._spawn(_prune(pool))
        if not decision.allowed:
            await _send_too_many(send, scope["path"], decision)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *decision.headers()]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def _send_too_many(send: Send, path: str, decision: Decision) -> None:
    body = orjson.dumps(
        problem_body(
            429,
            "Too Many Requests",
            f"More than {decision.limit} requests a minute; retry in {decision.reset_s} s",
            "rate-limited",
            path,
            limit=decision.limit,
            retry_after_s=decision.reset_s,
        )
    )
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(decision.reset_s).encode()),
        *decision.headers(),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
