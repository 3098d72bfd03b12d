"""Reads served from memory are audited in group commits: each read waits for its own entry, many share a statement."""

from __future__ import annotations

import asyncio
import json
import uuid
from types import SimpleNamespace

import asyncpg
import pytest
from starlette.requests import Request

from k12shared.audit import ReadAuditLog
from k12shared.auth.principal import Principal, PrincipalKind, Role

READS = 30


class CountingPool:
    """A real asyncpg pool that counts the statements sent through it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.statements = 0

    async def execute(self, *args):
        self.statements += 1
        return await self.pool.execute(*args)


@pytest.fixture
async def pool(migrated_database):
    pool = await asyncpg.create_pool(migrated_database.replace("postgresql+asyncpg://", "postgresql://", 1), min_size=1, max_size=2)
    yield pool
    await pool.close()


def _request(request_id: str) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(service_name="gateway"))
    return Request({"type": "http", "headers": [(b"x-forwarded-for", b"203.0.113.9")], "client": ("127.0.0.1", 5000),
                    "state": {"request_id": request_id}, "app": app})


def _reader(district_id: uuid.UUID) -> Principal:
    return Principal(subject="user:reader", kind=PrincipalKind.user, roles=frozenset({Role.district_admin}), district_ids=frozenset({district_id}))


async def test_concurrent_reads_each_stored_once_in_fewer_statements(pool):
    counting = CountingPool(pool)
    log, district_id = ReadAuditLog(counting), uuid.uuid4()
    request_ids = [uuid.uuid4().hex for _ in range(READS)]
    await asyncio.gather(*(
        log.record(_request(rid), _reader(district_id), resource="dashboard", resource_id=district_id, district_id=district_id,
                   detail={"served_from": "memory"})
        for rid in request_ids
    ))
    rows = await pool.fetch("select * from audit_log where district_id = $1", district_id)
    assert sorted(r["request_id"] for r in rows) == sorted(request_ids)
    assert {(r["service"], r["actor"], r["actor_kind"], r["action"], r["resource"], r["resource_id"], str(r["client_ip"])) for r in rows} == {
        ("gateway", "user:reader", "user", "read", "dashboard", str(district_id), "203.0.113.9")
    }
    assert all(json.loads(r["detail"]) == {"served_from": "memory"} for r in rows)
    assert counting.statements < READS


async def test_a_read_whose_entry_cannot_be_stored_fails(pool):
    log, district_id = ReadAuditLog(pool), uuid.uuid4()
    await pool.close()  # the database is out of reach
    results = await asyncio.gather(
        *(log.record(_request(uuid.uuid4().hex), _reader(district_id), resource="dashboard", district_id=district_id) for _ in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, asyncpg.InterfaceError) for r in results)
