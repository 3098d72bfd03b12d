"""Pytest plugin for the whole repo: a real PostgreSQL migrated once, each test in a rolled-back
transaction, tokens for any role, in-process app clients, and the whole platform as real
processes for tests that cross services.

The database comes from ``K12_TEST_DATABASE_URL`` (set by infra/test.sh, which starts an
embedded server when no ``TEST_DATABASE_URL`` is given).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

_KEYS_DIR = Path(tempfile.mkdtemp(prefix="k12-test-keys-"))


def _admin_url(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    return f"{base}/postgres", name.split("?")[0]


def pytest_configure(config: pytest.Config) -> None:
    url = os.environ.get("K12_TEST_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not url:
        raise pytest.UsageError("Set TEST_DATABASE_URL, or run the suite with `make test`, which starts an embedded PostgreSQL")
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    # Apps read their settings from the environment when imported: point them at the test setup.
    os.environ["K12_DATABASE_URL"] = url
    os.environ["K12_TEST_DATABASE_URL"] = url
    os.environ["K12_KEYS_DIR"] = str(_KEYS_DIR)
    os.environ.setdefault("K12_ENV", "test")
    os.environ.setdefault("K12_LOG_LEVEL", "WARNING")
    from k12shared.settings import get_settings

    get_settings.cache_clear()
    from k12shared.auth.keys import generate_key_file

    if not any(_KEYS_DIR.glob("*.pem")):
        generate_key_file(_KEYS_DIR)


async def recreate_database(url: str) -> None:
    import asyncpg

    admin, name = _admin_url(url.replace("postgresql+asyncpg://", "postgresql://"))
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def settings():
    from k12shared.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
async def migrated_database(settings) -> str:
    """The test database, dropped, recreated and migrated to head once per run."""
    from k12shared.migrate import upgrade

    await recreate_database(settings.database_url)
    await asyncio.to_thread(upgrade, settings.database_url)
    return settings.database_url


@pytest.fixture(scope="session")
async def engine(migrated_database, settings):
    from k12shared.db import create_engine

    engine = create_engine(settings, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_connection(engine):
    """One connection in an open transaction, rolled back after the test."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            await trans.rollback()


@pytest.fixture
async def session(db_connection):
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
        yield s


@pytest.fixture
def keyring(settings):
    from k12shared.auth.keys import Keyring

    return Keyring(settings)


@pytest.fixture
def make_token(settings, keyring):
    """``make_token(role, district_ids=[...], schools=[...], scopes=[...], kind="user")``."""
    from k12shared.auth import PrincipalKind, issue_token

    def _make(role: str = "district_admin", district_ids=(), schools=(), scopes=(), kind: str = "user", subject: str | None = None) -> str:
        token, _ = issue_token(
            settings,
            keyring,
            subject=subject or f"test:{role}:{uuid.uuid4().hex[:8]}",
            kind=PrincipalKind(kind),
            roles=[role],
            district_ids=district_ids,
            school_ids=schools,
            scopes=scopes,
        )
        return token

    return _make


@pytest.fixture
def auth():
    """``auth(token)`` gives the Authorization header."""
    return lambda token: {"authorization": f"Bearer {token}"}


@pytest.fixture
def app_client(db_connection):
    """``async with app_client(app) as client``: the app in-process, its sessions inside the test's transaction."""
    import contextlib

    import httpx
    from sqlalchemy.ext.asyncio import AsyncSession

    from k12shared.db import get_session

    @contextlib.asynccontextmanager
    async def _client(app) -> AsyncIterator[httpx.AsyncClient]:
        async def session_in_test_transaction():
            async with AsyncSession(bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
                async with s.begin():
                    yield s

        app.dependency_overrides[get_session] = session_in_test_transaction
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                    yield client
        finally:
            app.dependency_overrides.pop(get_session, None)

    return _client


@pytest.fixture
async def org_factory(session):
    """Small async factory: ``await org_factory("district", state_code="MO")``."""
    from k12shared.models import Organization

    async def _make(type_: str = "district", *, parent=None, state_code: str = "MO", **fields) -> Organization:
        org_id = uuid.uuid4()
        district_id = org_id if type_ == "district" else (parent.id if parent is not None and type_ == "school" else None)
        org = Organization(
            id=org_id,
            type=type_,
            name=fields.pop("name", f"Test {type_} {org_id.hex[:6]}"),
            state_code=state_code,
            parent_id=parent.id if parent is not None else None,
            district_id=district_id,
            state_id=fields.pop("state_id", org_id.hex[:10]),
            **fields,
        )
        session.add(org)
        await session.flush()
        return org

    return _make


from k12shared.testing.platform import platform  # noqa: E402,F401  (fixture)
