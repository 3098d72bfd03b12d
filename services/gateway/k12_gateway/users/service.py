"""A district's people: who may sign in, with which role, in which schools.

A person is invited by email; the first time they sign in with the district's identity provider their
account is linked to that provider's subject (auth/oidc.py), and from then on found by it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth import Principal
from k12shared.errors import Conflict, NotFound, Unprocessable
from k12shared.models import Organization, OrgType, User, UserMembership
from k12_gateway.users.schemas import UserIn, UserOut, UserUpdate

INVITED = "invited:"  # the subject of an account nobody has signed in to yet


def user_out(user: User, membership: UserMembership) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        district_id=membership.district_id,
        role=membership.role,  # type: ignore[arg-type]
        school_ids=membership.school_ids,
        signed_in=not user.subject.startswith(INVITED),
        created_at=user.created_at,
    )


def members_query(principal: Principal):
    """People with their memberships in the caller's districts (every district for the platform)."""
    stmt = select(User, UserMembership).join(UserMembership, UserMembership.user_id == User.id)
    if not principal.is_platform:
        stmt = stmt.where(UserMembership.district_id.in_(principal.district_ids))
    return stmt


async def invite(session: AsyncSession, principal: Principal, data: UserIn) -> tuple[User, UserMembership]:
    district_id = principal.acting_district(data.district_id)
    await _check_schools(session, district_id, data.school_ids)
    email = data.email.strip().lower()
    user = await session.scalar(select(User).where(func.lower(User.email) == email).order_by(User.created_at).limit(1))
    if user is None:
        user = User(subject=f"{INVITED}{uuid.uuid4().hex}", email=email, display_name=data.display_name)
        session.add(user)
        await session.flush()
    elif await session.get(UserMembership, (user.id, district_id)) is not None:
        raise Conflict(f"{email} is already a member of this district", field="email")
    membership = UserMembership(user_id=user.id, district_id=district_id, role=data.role, school_ids=list(data.school_ids))
    session.add(membership)
    await session.flush()
    await session.refresh(user)
    return user, membership


async def get_member(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> tuple[User, UserMembership]:
    """The person's membership in one of the caller's districts (404 for anyone else's)."""
    row = (await session.execute(members_query(principal).where(User.id == user_id).limit(1))).first()
    if row is None:
        raise NotFound("User not found")
    return row[0], row[1]


async def update(session: AsyncSession, user: User, membership: UserMembership, data: UserUpdate) -> None:
    if data.role is not None and data.role != membership.role:
        await _keep_a_district_admin(session, membership)
        membership.role = data.role
    if data.school_ids is not None:
        await _check_schools(session, membership.district_id, data.school_ids)
        membership.school_ids = list(data.school_ids)
    if data.display_name is not None:
        user.display_name = data.display_name
    await session.flush()


async def remove(session: AsyncSession, membership: UserMembership) -> None:
    await _keep_a_district_admin(session, membership)
    await session.delete(membership)
    await session.flush()


async def _keep_a_district_admin(session: AsyncSession, membership: UserMembership) -> None:
    """A district is never left without someone who can manage its people."""
    if membership.role != "district_admin":
        return
    admins = await session.scalar(
        select(func.count()).select_from(UserMembership).where(UserMembership.district_id == membership.district_id, UserMembership.role == "district_admin")
    )
    if admins <= 1:
        raise Conflict("This is the district's last district admin: name another one first")


async def _check_schools(session: AsyncSession, district_id: uuid.UUID, school_ids: list[uuid.UUID]) -> None:
    if not school_ids:
        return
    found = set(
        await session.scalars(
            select(Organization.id).where(Organization.id.in_(school_ids), Organization.type == OrgType.school, Organization.district_id == district_id)
        )
    )
    unknown = [str(s) for s in school_ids if s not in found]
    if unknown:
        raise Unprocessable(f"Not schools of this district: {', '.join(unknown)}", field="school_ids")
