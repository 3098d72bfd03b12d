"""/api/v1/ingest/profiles: mapping profiles as data, versioned."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from k12shared import audit
from k12shared.auth.deps import IngestReader, PlatformAdmin
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import IngestProfile
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_ingest.profiles import service
from k12_ingest.profiles.schemas import ProfileIn, ProfileOut, ProfileUpdate

router = APIRouter(prefix="/api/v1/ingest/profiles", tags=["ingest profiles"], responses=PROBLEM_RESPONSES)


@router.get("", operation_id="listIngestProfiles", summary="Mapping profiles (latest version of each)")
async def list_profiles(session: SessionDep, _: IngestReader, cursor: CursorParam = None, limit: LimitParam = 50) -> Page[ProfileOut]:
    items, next_cursor = await paginate(session, service.list_latest_query(), [IngestProfile.code], cursor=cursor, limit=limit)
    return Page(items=[ProfileOut.model_validate(p) for p in items], next_cursor=next_cursor)


@router.get("/{code}", operation_id="getIngestProfile", summary="One profile (latest version, or ?version=)")
async def get_profile(
    code: str, session: SessionDep, _: IngestReader, version: Annotated[int | None, Query(ge=1)] = None
) -> ProfileOut:
    return ProfileOut.model_validate(await service.get(session, code, version))


@router.post("", operation_id="createIngestProfile", status_code=status.HTTP_201_CREATED, summary="Add a profile (platform admin)")
async def create_profile(data: ProfileIn, session: SessionDep, principal: PlatformAdmin, request: Request) -> ProfileOut:
    profile = await service.create(session, data, principal.subject)
    await audit.record(session, request, principal, action="create", resource="ingest_profile", resource_id=f"{profile.code}@{profile.version}")
    return ProfileOut.model_validate(profile)


@router.put("/{code}", operation_id="updateIngestProfile", summary="Change a profile: stores the next version (platform admin)")
async def update_profile(code: str, data: ProfileUpdate, session: SessionDep, principal: PlatformAdmin, request: Request) -> ProfileOut:
    profile = await service.add_version(session, code, data, principal.subject)
    await audit.record(session, request, principal, action="update", resource="ingest_profile", resource_id=f"{profile.code}@{profile.version}")
    return ProfileOut.model_validate(profile)
