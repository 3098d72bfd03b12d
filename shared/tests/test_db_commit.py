"""A request's transaction is committed before its answer leaves: a client acting on a 201 at once finds what it created."""

from __future__ import annotations

import uuid

import asyncpg
from fastapi import APIRouter
from sqlalchemy import insert

from k12shared.app import create_service_app
from k12shared.db import SessionDep
from k12shared.models import AuditEntry


async def test_a_write_is_committed_before_its_answer_is_sent(migrated_database):
    actor = f"commit-test-{uuid.uuid4().hex}"
    router = APIRouter()

    @router.post("/write", status_code=201)
    async def write(session: SessionDep) -> dict:
        await session.execute(insert(AuditEntry).values(service="test", actor=actor, actor_kind="user", action="write", resource="test"))
        return {}

    app = create_service_app("commit-test", title="t", description="d", routers=[router])
    observer = await asyncpg.connect(migrated_database.replace("postgresql+asyncpg://", "postgresql://", 1))
    seen_when_answered: list[int] = []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            seen_when_answered.append(await observer.fetchval("select count(*) from audit_log where actor = $1", actor))

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/write",
             "raw_path": b"/write", "query_string": b"", "root_path": "", "headers": [], "client": ("127.0.0.1", 1), "server": ("test", 80)}
    try:
        async with app.router.lifespan_context(app) as state:
            await app({**scope, "state": dict(state or {})}, receive, send)
    finally:
        await observer.close()
    assert seen_when_answered == [1]
