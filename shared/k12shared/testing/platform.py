"""The whole platform as real processes on free ports, for tests that cross services."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from k12shared.settings import REPO_ROOT

# name -> (ASGI app, or a command for a non-HTTP process such as a worker)
SERVICES = {
    "gateway": "k12_gateway.main:app",
    "metrics": "k12_metrics.main:app",
    "routines": "k12_routines.main:app",
    "ingest": "k12_ingest.main:app",
}
# Extra processes the platform runs (queue workers); each a module run with ``python -m``.
WORKERS: dict[str, str] = {"routines-worker": "k12_routines.worker", "ingest-worker": "k12_ingest.worker"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uvicorn_command(app: str, port: int) -> list[str]:
    """A service as infra/Procfile runs it. Connections stay open longer than clients keep idle ones (httpx: 5 s),
    so a client never sends on a connection the server is closing at that moment."""
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--timeout-keep-alive", "75"]


def platform_env(database_url: str, ports: dict[str, int], **extra: str) -> dict[str, str]:
    """The environment of every process of a platform on ``ports``."""
    return {
        **os.environ,
        "K12_DATABASE_URL": database_url,
        **{f"K12_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()},
        **extra,
    }


@dataclass
class Platform:
    database_url: str
    env: dict[str, str]
    ports: dict[str, int]
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def url(self, service: str = "gateway") -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, name: str) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        if name in SERVICES:
            cmd = uvicorn_command(SERVICES[name], self.ports[name])
        else:
            cmd = [sys.executable, "-m", WORKERS[name]]
        self.processes[name] = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)

    def stop(self, name: str, *, kill: bool = False) -> None:
        proc = self.processes.pop(name, None)
        if proc is None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def wait_healthy(self, name: str, timeout_s: float = 120) -> None:  # six processes start at once on a shared 2-core machine
        wait_until_healthy(self.processes.get(name), self.url(name), self.log_dir / f"{name}.log", timeout_s)

    @contextmanager
    def extra_gateway(self, log_dir: Path, drop: tuple[str, ...] = (), **settings: str) -> Iterator[str]:
        """A second gateway on the same services and database with some settings changed; yields its URL."""
        port = free_port()
        env = {k: v for k, v in self.env.items() if k not in drop} | settings
        log = open(log_dir / "gateway.log", "ab")
        proc = subprocess.Popen(uvicorn_command(SERVICES["gateway"], port), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(proc, url, log_dir / "gateway.log", timeout_s=60)
            yield url
        finally:
            proc.terminate()
            proc.wait(10)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


def wait_until_healthy(proc: subprocess.Popen | None, url: str, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url} exited; see {log}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not start; see {log}")


@pytest.fixture(scope="session")
async def platform(settings, tmp_path_factory) -> Platform:
    """Gateway, services and workers as real processes on a database of their own."""
    from k12shared.migrate import upgrade
    from k12shared.testing.plugin import recreate_database

    base, _, name = settings.database_url.rpartition("/")
    database_url = f"{base}/{name}_e2e"
    await recreate_database(database_url)
    await asyncio.to_thread(upgrade, database_url)
    ports = {name: free_port() for name in SERVICES}
    env = platform_env(
        database_url, ports, K12_LOG_LEVEL="INFO", K12_DB_POOL_SIZE="5",
        # Tests share a few tokens across many calls: limits are exercised by a gateway of their own
        # (tests/e2e/test_edge_rate_limits.py), not by every test.
        K12_RATE_LIMIT_PER_MINUTE="1000000", K12_WEBHOOK_RATE_LIMIT_PER_MINUTE="1000000",
        # Tests read a screen right after changing its data behind the gateway's back (a load, a service
        # called directly): the screen cache has a gateway of its own (tests/e2e/test_screen_cache.py).
        K12_SCREEN_CACHE_FRESH_S="0",
    )
    log_dir = tmp_path_factory.mktemp("platform-logs")
    running = Platform(database_url=database_url, env=env, ports=ports, log_dir=log_dir)
    for name in [*SERVICES, *WORKERS]:
        running.start(name)
    try:
        for name in SERVICES:
            running.wait_healthy(name)
        yield running
    finally:
        for name in list(running.processes):
            running.stop(name)
