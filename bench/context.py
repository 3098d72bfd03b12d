"""The platform under benchmark: the same real processes the end-to-end tests start."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

import httpx

from k12shared.testing.platform import SERVICES, WORKERS, Platform, free_port, platform_env


@contextlib.asynccontextmanager
async def running_platform():
    from k12shared.migrate import upgrade
    from k12shared.testing.plugin import recreate_database

    base = os.environ["K12_BENCH_DATABASE_URL"]
    await recreate_database(base)
    await asyncio.to_thread(upgrade, base)
    ports = {name: free_port() for name in SERVICES}
    # Benchmarks drive thousands of calls a minute with one token: the limiter still counts each, never refuses.
    env = platform_env(base, ports, K12_LOG_LEVEL="WARNING", K12_RATE_LIMIT_PER_MINUTE="100000000", K12_WEBHOOK_RATE_LIMIT_PER_MINUTE="100000000")
    platform = Platform(database_url=base, env=env, ports=ports, log_dir=Path(tempfile.mkdtemp(prefix="k12-bench-")))
    for name in [*SERVICES, *WORKERS]:
        platform.start(name)
    try:
        for name in SERVICES:
            platform.wait_healthy(name, timeout_s=120)  # a loaded 2-core machine starts six processes slowly
        async with httpx.AsyncClient(base_url=platform.url(), timeout=60) as admin_api:
            token = (await admin_api.post("/auth/dev-token", json={"role": "platform_admin"})).json()["access_token"]
            admin_api.headers["authorization"] = f"Bearer {token}"
            platform.admin_api = admin_api  # type: ignore[attr-defined]
            yield platform
    finally:
        for name in list(platform.processes):
            platform.stop(name)


def user_client(base_url: str = "", headers: dict | None = None) -> httpx.AsyncClient:
    """One simulated user's client, with its own connection as a browser or a partner's process has.

    Not one pool for every simulated user: httpcore's pool bookkeeping grows with the requests waiting on
    it, and with 32 users sharing one the load generator spends more CPU per request than the gateway
    answering it, so the figures would measure the generator."""
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30, limits=httpx.Limits(max_connections=1))


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0 to 100) of some samples, by nearest rank; 0 for none."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
