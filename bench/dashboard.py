"""Issue 6 "Speed": the dashboard through the gateway under 32 concurrent clients for 30 s (p50, p99, requests
per second, errors), and the gateway's overhead on one plain read (p50 through the gateway over p50 direct).

The dashboard is measured twice in one run: as a browser asks for it (the gateway keeps a caller's complete
screen a few seconds) and with ``Cache-Control: no-cache`` (every call composed from the services)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter

import aiohttp
import httpx
import orjson

from bench._demo_district import ensure_demo_district
from bench.context import percentile

CLIENTS = 32
DURATION_S = float(__import__("os").environ.get("K12_BENCH_DASHBOARD_S", "30"))
OVERHEAD_ROUNDS = 5
OVERHEAD_CALLS_PER_ROUND = 100


async def _load(url: str, headers: dict, clients: int, duration_s: float) -> tuple[list[float], Counter, Counter]:
    """``clients`` callers in closed loop, each on its own connection as each browser has.

    The generator is aiohttp: with httpx, 32 callers took a whole core of this 2-core machine to ask
    (about 1 ms of CPU a request, more than the gateway spends answering a kept screen), so the figures
    measured the generator; aiohttp asks for a third of that."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    missing: Counter = Counter()
    deadline = time.monotonic() + duration_s
    timeout = aiohttp.ClientTimeout(total=30)

    async def client() -> None:
        async with aiohttp.ClientSession(headers=headers, timeout=timeout, connector=aiohttp.TCPConnector(limit=1)) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    async with http.get(url) as response:
                        body = await response.read()
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    statuses[type(exc).__name__] += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status] += 1
                if response.status == 200:
                    missing.update(p["part"] for p in orjson.loads(body)["missing"])

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, statuses, missing


async def _p50(http: httpx.AsyncClient, url: str, calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        (await http.get(url)).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _overhead(ctx, district_id, headers: dict) -> dict:
    """The same read (one organization, from metrics-api) through the gateway and directly, rounds interleaved."""
    path = f"/api/v1/orgs/{district_id}"
    through, direct = [], []
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        await _p50(http, ctx.url() + path, 20)  # warm both paths' connections
        await _p50(http, ctx.url("metrics") + path, 20)
        for _ in range(OVERHEAD_ROUNDS):
            through += await _p50(http, ctx.url() + path, OVERHEAD_CALLS_PER_ROUND)
            direct += await _p50(http, ctx.url("metrics") + path, OVERHEAD_CALLS_PER_ROUND)
    return {
        "gateway_read_p50_ms": round(statistics.median(through), 2),
        "direct_read_p50_ms": round(statistics.median(direct), 2),
        "gateway_overhead_ratio": round(statistics.median(through) / statistics.median(direct), 2),
    }


async def run(ctx) -> dict:
    district_id = await ensure_demo_district(ctx)
    token = (await ctx.admin_api.post("/auth/dev-token", json={"role": "district_admin", "district": "096088"})).json()["access_token"]
    headers = {"authorization": f"Bearer {token}"}
    url = ctx.url() + "/app/v1/dashboard"
    await _load(url, headers, 4, 3.0)  # warm-up: connections, caches
    uncached = headers | {"cache-control": "no-cache"}
    one_at_a_time, _, _ = await _load(url, uncached, 1, 5.0)  # the latency of one composition on an otherwise idle platform
    return {
        **_figures("dashboard", *await _load(url, headers, CLIENTS, DURATION_S)),
        **_figures("dashboard_uncached", *await _load(url, uncached, CLIENTS, DURATION_S)),
        "dashboard_clients": CLIENTS,
        "dashboard_duration_s": DURATION_S,
        "dashboard_single_client_uncached_p50_ms": round(percentile(one_at_a_time, 50), 1),
        **await _overhead(ctx, district_id, headers),
    }


def _figures(prefix: str, latencies: list[float], statuses: Counter, missing: Counter) -> dict:
    return {
        f"{prefix}_requests": len(latencies),
        f"{prefix}_p50_ms": round(percentile(latencies, 50), 1),
        f"{prefix}_p99_ms": round(percentile(latencies, 99), 1),
        f"{prefix}_requests_per_s": round(len(latencies) / DURATION_S, 1),
        f"{prefix}_errors": sum(n for s, n in statuses.items() if s != 200),
        f"{prefix}_statuses": {str(s): n for s, n in statuses.items()},
        # Parts answered missing, per part, over the ok answers.
        f"{prefix}_missing_parts": dict(missing),
    }
