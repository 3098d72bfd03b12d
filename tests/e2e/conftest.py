"""Fixtures most end-to-end tests share: an HTTP client on the platform's gateway and a direct database
connection for checking, row by row, what a test's requests left behind."""

from __future__ import annotations

import asyncpg
import httpx
import pytest


@pytest.fixture(scope="module")
async def api(platform):
    async with httpx.AsyncClient(base_url=platform.url(), timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
async def db(platform):
    conn = await asyncpg.connect(platform.database_url.replace("postgresql+asyncpg://", "postgresql://"))
    yield conn
    await conn.close()
