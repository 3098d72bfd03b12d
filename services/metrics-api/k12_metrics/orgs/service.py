"""Plain reads and writes of organizations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, String, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.errors import Conflict, NotFound, Unprocessable
from k12shared.models import Organization, OrgType
from k12_metrics.orgs.schemas import OrgIn, OrgPatch, OrgResolveItem

_PARENT_TYPE = {OrgType.school: OrgType.district, OrgType.district: OrgType.state}


def list_query(
    *,
    nces_id: str | None,
    state_id: str | None,
    type_: OrgType | None,
    state_code: str | None,
    parent_id: uuid.UUID | None,
    name: str | None,
) -> Select:
    stmt = select(Organization)
    if nces_id:
        stmt = stmt.where(Organization.nces_id == nces_id)
    if state_id:
        stmt = stmt.where(Organization.state_id == state_id)
    if type_:
        stmt = stmt.where(Organization.type == type_)
    if state_code:
        stmt = stmt.where(Organization.state_code == state_code.upper())
    if parent_id:
        stmt = stmt.where(Organization.parent_id == parent_id)
    if name:
        stmt = stmt.where(Organization.name.ilike(f"%{name.replace('%', '').replace('_', '')}%"))
    return stmt


async def get(session: AsyncSession, org_id: uuid.UUID) -> Organization:
    org = await session.get(Organization, org_id)
    if org is None:
        raise NotFound("Organization not found")
    return org


async def _check_parent(session: AsyncSession, data: OrgIn) -> Organization | None:
    if data.parent_id is None:
        if data.type == OrgType.school:
            raise Unprocessable("A school needs its district as parent_id", field="parent_id")
        return None
    parent = await session.get(Organization, data.parent_id)
    if parent is None or parent.type != _PARENT_TYPE.get(data.type):
        raise Unprocessable(f"parent_id must be a {_PARENT_TYPE.get(data.type, 'nothing')}", field="parent_id")
    return parent


def _district_of(org_type: OrgType, org_id: uuid.UUID, parent: Organization | None) -> uuid.UUID | None:
    if org_type == OrgType.district:
        return org_id
    if org_type == OrgType.school and parent is not None:
        return parent.id
    return None


async def create(session: AsyncSession, data: OrgIn) -> Organization:
    parent = await _check_parent(session, data)
    org_id = uuid.uuid4()
    org = Organization(id=org_id, district_id=_district_of(data.type, org_id, parent), **data.model_dump())
    session.add(org)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("An organization with these identifiers already exists") from None
    return org


async def patch(session: AsyncSession, org: Organization, data: OrgPatch) -> Organization:
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(org, key, value)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("An organization with these identifiers already exists") from None
    return org


_INSERT_SLICE = 2_000


async def resolve_many(session: AsyncSession, items: Sequence[OrgResolveItem]) -> tuple[list[uuid.UUID], int]:
    """Find each organization by NCES or state id; create the missing ones under their parent.

    Parents are resolved first (states, then districts, then schools) so a file that names a
    school and its district in one go creates both.
    """
    ids: list[uuid.UUID | None] = [None] * len(items)
    created = 0
    for level in (OrgType.state, OrgType.district, OrgType.school):
        batch = [(i, item) for i, item in enumerate(items) if item.type == level]
        if not batch:
            continue
        found = await _find_existing(session, [item for _, item in batch])
        to_create = []
        for i, item in batch:
            key = _key(item)
            if key in found:
                ids[i] = found[key]
            else:
                to_create.append((i, item))
        if to_create:
            parents = await _find_parents(session, [item for _, item in to_create])
            rows = []
            for i, item in to_create:
                parent_id = item.parent_id or parents.get(_parent_key(item))
                if item.type == OrgType.school and parent_id is None:
                    raise Unprocessable(f"School {item.name!r} names no known district", field=f"items.{i}")
                org_id = uuid.uuid4()
                district_id = org_id if item.type == OrgType.district else parent_id if item.type == OrgType.school else None
                rows.append(
                    dict(
                        id=org_id,
                        type=item.type,
                        name=item.name,
                        state_code=item.state_code,
                        parent_id=parent_id,
                        district_id=district_id,
                        nces_id=item.nces_id,
                        state_id=item.state_id,
                        edfi_id=item.edfi_id,
                        timezone=item.timezone,
                        attributes=item.attributes,
                    )
                )
            # Another loader may create the same org concurrently: skip conflicts, then re-read.
            # In slices: one statement may carry at most 32,767 bind parameters (11 a row).
            for start in range(0, len(rows), _INSERT_SLICE):
                await session.execute(insert(Organization).values(rows[start : start + _INSERT_SLICE]).on_conflict_do_nothing())
            refound = await _find_existing(session, [item for _, item in to_create])
            for i, item in to_create:
                ids[i] = refound[_key(item)]
            created += len(rows)
    return [i for i in ids if i is not None], created


def _key(item: OrgIn) -> tuple:
    return (item.type, item.nces_id) if item.nces_id else (item.type, item.state_code, item.state_id)


def _parent_key(item: OrgResolveItem) -> tuple | None:
    parent_type = _PARENT_TYPE.get(item.type)
    if item.parent_nces_id:
        return (parent_type, item.parent_nces_id)
    if item.parent_state_id:
        return (parent_type, item.state_code, item.parent_state_id)
    return None


async def _find_existing(session: AsyncSession, items: Sequence[OrgIn]) -> dict[tuple, uuid.UUID]:
    org_type = items[0].type
    nces = [i.nces_id for i in items if i.nces_id]
    states = [(i.state_code, i.state_id) for i in items if not i.nces_id and i.state_id]
    if any(not i.nces_id and not i.state_id for i in items):
        raise Unprocessable("Every organization needs an nces_id or a state_id", field="items")
    found: dict[tuple, uuid.UUID] = {}
    if nces:
        rows = await session.execute(
            select(Organization.nces_id, Organization.id).where(Organization.type == org_type, Organization.nces_id == any_(_text_array(nces)))
        )
        found.update({(org_type, n): i for n, i in rows})
    if states:
        codes = {s for s, _ in states}
        rows = await session.execute(
            select(Organization.state_code, Organization.state_id, Organization.id).where(
                Organization.type == org_type,
                Organization.state_code.in_(codes),
                Organization.state_id == any_(_text_array([sid for _, sid in states])),
            )
        )
        found.update({(org_type, s, sid): i for s, sid, i in rows})
    return found


def _text_array(values: list[str]):
    """One array parameter, however many values (an IN list would take one parameter each)."""
    return bindparam(None, value=list(values), type_=ARRAY(String), expanding=False)


async def _find_parents(session: AsyncSession, items: Sequence[OrgResolveItem]) -> dict[tuple, uuid.UUID]:
    by_type: dict[OrgType, list[OrgResolveItem]] = {}
    for item in items:
        parent_type = _PARENT_TYPE.get(item.type)
        if parent_type and (item.parent_nces_id or item.parent_state_id):
            by_type.setdefault(parent_type, []).append(item)
    found: dict[tuple, uuid.UUID] = {}
    for parent_type, children in by_type.items():
        probes = [
            OrgIn(type=parent_type, name="?", state_code=c.state_code, nces_id=c.parent_nces_id, state_id=c.parent_state_id)
            for c in children
        ]
        found.update(await _find_existing(session, probes))
    return found


async def set_district_ids(session: AsyncSession) -> None:
    """Keep district_id consistent for schools whose parent was set later."""
    await session.execute(
        update(Organization)
        .where(Organization.type == OrgType.school, Organization.district_id.is_(None), Organization.parent_id.is_not(None))
        .values(district_id=Organization.parent_id)
    )
