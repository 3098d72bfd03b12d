"""Rate limits per API client, per user and per webhook source: fixed one-minute windows.

Each gateway process counts hits in memory and, at most every ``SYNC_INTERVAL_S``, adds what it
counted to the shared window row in PostgreSQL and learns the total of every replica. A request
costs no database round trip; the replicas together may overshoot a limit by what they serve in one
sync interval. Answers 429 problem+json with ``Retry-After`` and the IETF draft
``RateLimit-Limit`` / ``RateLimit-Remaining`` / ``RateLimit-Reset`` headers (also on allowed responses).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k12shared.errors import PROBLEM_MEDIA_TYPE, problem_body
from k12_gateway.edge.caller import Caller, identify

log = logging.getLogger("k12.gateway.ratelimit")
WINDOW_S = 60
PRUNE_ONE_IN = 500  # amortised clean-up of past windows, off the request path

SYNC_INTERVAL_S = 0.25
# Adds each bucket's hits since the last sync; returns the window's total over every replica.
_SYNC = """
insert into edge_rate_limit_windows as w (bucket, window_start, hits)
select bucket, to_timestamp(window_start), hits from unnest($1::text[], $2::float8[], $3::int[]) as t(bucket, window_start, hits)
on conflict (bucket, window_start) do update set hits = w.hits + excluded.hits
returning w.bucket, extract(epoch from w.window_start)::float8, w.hits
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


class WindowCounter:
    """This process's hits per (bucket, window), on top of the shared total known at the last sync."""

    def __init__(self) -> None:
        self.shared: dict[tuple[str, float], int] = {}  # the total every replica had counted at the last sync
        self.unsynced: defaultdict[tuple[str, float], int] = defaultdict(int)
        self._lock = asyncio.Lock()

    def hit(self, caller: Caller, now: float) -> Decision:
        window = now - now % WINDOW_S
        key = (caller.bucket, window)
        self.unsynced[key] += 1
        hits = self.shared.get(key, 0) + self.unsynced[key]
        reset_s = max(1, math.ceil(window + WINDOW_S - now))
        return Decision(hits <= caller.limit_per_minute, caller.limit_per_minute, max(0, caller.limit_per_minute - hits), reset_s)

    async def sync(self, pool) -> None:
        """Hand this process's new hits to PostgreSQL and learn every replica's totals."""
        async with self._lock:
            if not self.unsynced:
                return
            sent, self.unsynced = self.unsynced, defaultdict(int)
            try:
                rows = await pool.fetch(_SYNC, [b for b, _ in sent], [w for _, w in sent], list(sent.values()))
            except Exception:
                for key, hits in sent.items():  # kept for the next sync
                    self.unsynced[key] += hits
                raise
            oldest = time.time() - 2 * WINDOW_S
            self.shared = {k: v for k, v in self.shared.items() if k[1] > oldest}
            for bucket, window, total in rows:
                self.shared[(bucket, window)] = total


async def _prune(pool) -> None:
    try:
        await pool.execute(_PRUNE)
    except Exception as exc:  # clean-up is best effort; the next one catches up
        log.warning("edge state prune failed", extra={"error": type(exc).__name__})


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.counter = WindowCounter()
        self._background: set[asyncio.Task] = set()
        self._sync_pending = False

    def _schedule_sync(self, pool) -> None:
        """One sync in flight at a time, at most every SYNC_INTERVAL_S, off the request path."""
        if self._sync_pending:
            return
        self._sync_pending = True

        async def later() -> None:
            try:
                await asyncio.sleep(SYNC_INTERVAL_S)
                await self.counter.sync(pool)
            except Exception as exc:  # fail open: the limiter must not take the API down with it
                log.warning("rate limiter sync failed", extra={"error": type(exc).__name__})
            finally:
                self._sync_pending = False

        self._spawn(later())

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
        decision = self.counter.hit(caller, time.time())
        self._schedule_sync(pool)
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
