"""Who may read what: public observations for everyone, a district's own rows only for that district."""

from __future__ import annotations

import uuid

from sqlalchemy import or_

from k12shared.auth.principal import Principal
from k12shared.errors import NotFound
from k12shared.models import Observation, Organization


def visible_observations(principal: Principal):
    """A where-clause limiting observations to what the principal may read."""
    if principal.is_platform:
        return Observation.visibility.in_(("public", "district"))
    return or_(Observation.visibility == "public", Observation.district_id.in_(list(principal.district_ids)))


async def org_for_district_user(session, principal: Principal, org_id: uuid.UUID) -> Organization:
    """The organization, if the principal's district owns it (another district's org answers 404)."""
    org = await session.get(Organization, org_id)
    if org is None:
        raise NotFound("Organization not found")
    principal.require_district(org.district_id, resource="Organization")
    return org
