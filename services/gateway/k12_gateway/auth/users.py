"""Demo users for development sign-in: one per role and district, created on first use."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth import Role
from k12shared.errors import NotFound
from k12shared.models import Organization, OrgType, User, UserMembership

DEMO_DISTRICT_STATE_ID = "096088"  # Hazelwood, Missouri: the district of the demo dataset


async def find_district(session: AsyncSession, ref: str | None) -> Organization:
    """A district by platform id, state id or NCES id; the demo district when none is named."""
    ref = ref or DEMO_DISTRICT_STATE_ID
    conditions = [Organization.state_id == ref, Organization.nces_id == ref]
    try:
        conditions.append(Organization.id == uuid.UUID(ref))
    except ValueError:
        pass
    district = await session.scalar(
        select(Organization).where(Organization.type == OrgType.district, or_(*conditions)).order_by(Organization.name).limit(1)
    )
    if district is None:
        raise NotFound(f"No district with id, state id or NCES id {ref!r}", field="district")
    return district


async def demo_user(session: AsyncSession, role: Role, district: Organization) -> tuple[User, list[uuid.UUID]]:
    subject = f"demo:{role}:{district.id}"
    name = f"Demo {role.replace('_', ' ')} ({district.name})"
    await session.execute(
        insert(User)
        .values(subject=subject, display_name=name, email=f"{role}@demo.k12perform.dev", is_platform_admin=role == Role.platform_admin)
        .on_conflict_do_nothing(index_elements=[User.subject])
    )
    user = await session.scalar(select(User).where(User.subject == subject))
    schools: list[uuid.UUID] = []
    if role == Role.leader:
        # A demo leader leads the district's first two schools.
        schools = list(
            await session.scalars(
                select(Organization.id).where(Organization.parent_id == district.id, Organization.type == OrgType.school).order_by(Organization.name).limit(2)
            )
        )
    await session.execute(
        insert(UserMembership)
        .values(user_id=user.id, district_id=district.id, role=role, school_ids=schools)
        .on_conflict_do_update(index_elements=[UserMembership.user_id, UserMembership.district_id], set_={"role": role, "school_ids": schools})
    )
    return user, schools


async def demo_platform_admin(session: AsyncSession) -> User:
    subject = "demo:platform_admin"
    await session.execute(
        insert(User)
        .values(subject=subject, display_name="Demo platform admin", email="platform_admin@demo.k12perform.dev", is_platform_admin=True)
        .on_conflict_do_nothing(index_elements=[User.subject])
    )
    return await session.scalar(select(User).where(User.subject == subject))
