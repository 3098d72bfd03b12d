"""/api/v1/users: a district admin manages who in the district may sign in, and as what."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from k12shared import audit
from k12shared.auth import Principal, Role, Scope, requires
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import User, UserMembership
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_gateway.users import service
from k12_gateway.users.schemas import UserIn, UserOut, UserUpdate

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=PROBLEM_RESPONSES)
UserAdmin = Annotated[Principal, requires(Scope.users_write, Role.district_admin)]


@router.post("", operation_id="inviteUser", status_code=status.HTTP_201_CREATED, summary="Let a person sign in to the district with a role",
    description="District admins only. The person signs in with the district's identity provider using this email; "
    "a person already in another district keeps that membership too.",
)
async def invite_user(data: UserIn, session: SessionDep, principal: UserAdmin, request: Request) -> UserOut:
    user, membership = await service.invite(session, principal, data)
    await audit.record(session, request, principal, action="create", resource="user", resource_id=user.id, district_id=membership.district_id, detail={"role": membership.role})
    return service.user_out(user, membership)


@router.get("", operation_id="listUsers", summary="The people of the caller's districts and their roles")
async def list_users(session: SessionDep, principal: UserAdmin, cursor: CursorParam = None, limit: LimitParam = 50) -> Page[UserOut]:
    rows, next_cursor = await paginate(session, service.members_query(principal), [User.id, UserMembership.district_id], cursor=cursor, limit=limit, scalars=False)
    return Page(items=[service.user_out(user, membership) for user, membership in rows], next_cursor=next_cursor)


@router.get("/{user_id}", operation_id="getUser", summary="One person of the district")
async def get_user(user_id: uuid.UUID, session: SessionDep, principal: UserAdmin) -> UserOut:
    return service.user_out(*await service.get_member(session, principal, user_id))


@router.patch("/{user_id}", operation_id="updateUser", summary="Change a person's role, schools or name",
    description="A district always keeps at least one district admin (409 otherwise). Tokens already issued keep their roles until they expire.",
)
async def update_user(user_id: uuid.UUID, data: UserUpdate, session: SessionDep, principal: UserAdmin, request: Request) -> UserOut:
    user, membership = await service.get_member(session, principal, user_id)
    await service.update(session, user, membership, data)
    await audit.record(session, request, principal, action="update", resource="user", resource_id=user.id, district_id=membership.district_id,
                       detail=data.model_dump(mode="json", exclude_none=True))
    return service.user_out(user, membership)


@router.delete("/{user_id}", operation_id="removeUser", status_code=status.HTTP_204_NO_CONTENT, summary="Take a person out of the district",
    description="They can no longer sign in to this district; their actions and judgments stay, with their name.",
)
async def remove_user(user_id: uuid.UUID, session: SessionDep, principal: UserAdmin, request: Request) -> Response:
    user, membership = await service.get_member(session, principal, user_id)
    await service.remove(session, membership)
    await audit.record(session, request, principal, action="delete", resource="user", resource_id=user.id, district_id=membership.district_id)
    return Response(status_code=204)
