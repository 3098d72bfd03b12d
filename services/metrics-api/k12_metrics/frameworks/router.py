from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from k12shared import audit
from k12shared.auth import MetricsReader, PlatformAdmin
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES, Conflict, NotFound
from k12shared.models import Framework
from k12_metrics.frameworks.schemas import FrameworkDocument, FrameworkOut

router = APIRouter(prefix="/api/v1/frameworks", tags=["frameworks"], responses=PROBLEM_RESPONSES)

DEFAULT_FRAMEWORK = "mo-msip5"


async def load(session, ref: str | None, state_code: str | None = None) -> Framework:
    """``code`` (latest version) or ``code@version``; none: the latest framework of the state, else MSIP."""
    stmt = select(Framework).order_by(Framework.version.desc()).limit(1)
    if ref:
        code, _, version = ref.partition("@")
        stmt = stmt.where(Framework.code == code)
        if version:
            stmt = stmt.where(Framework.version == int(version)) if version.isdigit() else stmt.where(False)
    else:
        found = await session.scalar(stmt.where(Framework.state_code == state_code)) if state_code else None
        if found:
            return found
        stmt = stmt.where(Framework.code == DEFAULT_FRAMEWORK)
    framework = await session.scalar(stmt)
    if framework is None:
        raise NotFound(f"Framework '{ref}' not found", field="framework")
    return framework


@router.get("", operation_id="listFrameworks", summary="Accountability frameworks, every version")
async def list_frameworks(session: SessionDep, _: MetricsReader) -> list[FrameworkOut]:
    rows = await session.scalars(select(Framework).order_by(Framework.code, Framework.version))
    return [FrameworkOut.model_validate(r) for r in rows]


@router.get("/{ref}", operation_id="getFramework", summary="One framework: code (latest version) or code@version")
async def get_framework(ref: str, session: SessionDep, _: MetricsReader) -> FrameworkOut:
    return FrameworkOut.model_validate(await load(session, ref))


@router.post("", operation_id="createFramework", status_code=status.HTTP_201_CREATED, summary="Add a framework or a new version (platform admin)")
async def create_framework(document: FrameworkDocument, session: SessionDep, principal: PlatformAdmin, request: Request) -> FrameworkOut:
    framework = Framework(code=document.code, version=document.version, name=document.name, state_code=document.state_code,
                          document=document.model_dump(mode="json"))
    try:
        async with session.begin_nested():
            session.add(framework)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"Framework {document.code} version {document.version} exists; post a higher version") from None
    await session.refresh(framework)
    await audit.record(session, request, principal, action="create", resource="framework", resource_id=framework.id)
    return FrameworkOut.model_validate(framework)
