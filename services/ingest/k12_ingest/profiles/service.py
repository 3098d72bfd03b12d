"""Plain reads and writes of mapping profiles. Every change is a new version; jobs name the version they used."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.errors import Conflict, NotFound
from k12shared.models import IngestProfile
from k12_ingest.profiles.schemas import ProfileDefinition, ProfileIn, ProfileUpdate

BUILTIN_DIR = Path(__file__).with_name("builtin")


def builtin_profiles() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(BUILTIN_DIR.glob("*.json"))]


async def ensure_builtin(session: AsyncSession) -> None:
    """Store the shipped profiles as version 1 when absent (an edited profile keeps its newer versions)."""
    rows = []
    for item in builtin_profiles():
        definition = ProfileDefinition.model_validate(item["definition"])
        rows.append(
            dict(code=item["code"], version=1, name=item["name"], definition=definition.model_dump(exclude_none=True), builtin=True, created_by="builtin")
        )
    await session.execute(insert(IngestProfile).values(rows).on_conflict_do_nothing(index_elements=["code", "version"]))


def _latest_versions():
    return select(IngestProfile.code, func.max(IngestProfile.version).label("version")).group_by(IngestProfile.code).subquery()


def list_latest_query():
    latest = _latest_versions()
    return select(IngestProfile).join(latest, (IngestProfile.code == latest.c.code) & (IngestProfile.version == latest.c.version))


async def get(session: AsyncSession, code: str, version: int | None = None) -> IngestProfile:
    stmt = select(IngestProfile).where(IngestProfile.code == code)
    stmt = stmt.where(IngestProfile.version == version) if version else stmt.order_by(IngestProfile.version.desc()).limit(1)
    profile = (await session.execute(stmt)).scalar_one_or_none()
    if profile is None:
        raise NotFound(f"Profile {code!r}{f' version {version}' if version else ''} not found")
    return profile


async def create(session: AsyncSession, data: ProfileIn, actor: str) -> IngestProfile:
    exists = await session.scalar(select(func.count()).select_from(IngestProfile).where(IngestProfile.code == data.code))
    if exists:
        raise Conflict(f"Profile {data.code!r} exists; PUT /api/v1/ingest/profiles/{data.code} adds a version")
    profile = IngestProfile(code=data.code, version=1, name=data.name, definition=data.definition.model_dump(exclude_none=True), created_by=actor)
    session.add(profile)
    await session.flush()
    return profile


async def add_version(session: AsyncSession, code: str, data: ProfileUpdate, actor: str) -> IngestProfile:
    current = await get(session, code)
    profile = IngestProfile(
        code=code,
        version=current.version + 1,
        name=data.name or current.name,
        definition=data.definition.model_dump(exclude_none=True),
        created_by=actor,
    )
    session.add(profile)
    await session.flush()
    return profile
