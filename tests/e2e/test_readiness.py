"""A service whose database is behind the migration head says it is not ready, until the prestart step runs."""

from __future__ import annotations

import asyncio
import subprocess

import httpx
from alembic import command

from k12shared.migrate import alembic_config, upgrade
from k12shared.settings import REPO_ROOT
from k12shared.testing.platform import SERVICES, wait_until_healthy, free_port, uvicorn_command
from k12shared.testing.plugin import recreate_database


async def test_a_service_on_a_database_behind_head_answers_503_until_it_is_migrated(platform, tmp_path):
    behind_url = platform.database_url + "_behind"
    await recreate_database(behind_url)
    await asyncio.to_thread(upgrade, behind_url)
    await asyncio.to_thread(command.downgrade, alembic_config(behind_url), "-1")

    port = free_port()
    log = tmp_path / "metrics.log"
    env = platform.env | {"K12_DATABASE_URL": behind_url}
    with open(log, "ab") as out:
        proc = subprocess.Popen(uvicorn_command(SERVICES["metrics"], port), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    try:
        url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_healthy, proc, url, log, 120)
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            behind = await client.get("/readyz")
            assert behind.status_code == 503 and behind.headers["content-type"].startswith("application/problem+json")
            database = behind.json()["checks"]["database"]
            assert database["status"] == "not_at_head" and database["revision"] != database["head"]

            await asyncio.to_thread(upgrade, behind_url)  # the prestart step
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["database"]["status"] == "ok"
    finally:
        proc.terminate()
        proc.wait(10)
