"""Who is calling: the identity carried by a verified token, and what it may do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from k12shared.errors import Forbidden, NotFound, Unprocessable


class Role(StrEnum):
    platform_admin = "platform_admin"  # runs the platform: state feeds, profiles, organizations
    district_admin = "district_admin"
    leader = "leader"  # scoped to given schools
    staff = "staff"  # read only
    service = "service"  # another K12 Perform service acting on its own behalf


class Scope(StrEnum):
    metrics_read = "metrics:read"
    metrics_write = "metrics:write"
    routines_read = "routines:read"
    routines_write = "routines:write"
    ingest_read = "ingest:read"
    ingest_write = "ingest:write"
    clients_write = "clients:write"
    users_write = "users:write"
    audit_read = "audit:read"


_ALL = frozenset(Scope)
_READ = frozenset({Scope.metrics_read, Scope.routines_read, Scope.ingest_read})
# Users get the scopes of their roles; API clients get only the scopes they were granted.
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.platform_admin: _ALL,
    Role.service: _ALL,
    Role.district_admin: _ALL,
    Role.leader: _READ | {Scope.routines_write},
    Role.staff: _READ,
}


class PrincipalKind(StrEnum):
    user = "user"
    client = "client"
    service = "service"


@dataclass(frozen=True)
class Principal:
    subject: str
    kind: PrincipalKind
    roles: frozenset[Role]
    district_ids: frozenset[uuid.UUID] = frozenset()
    school_ids: frozenset[uuid.UUID] = frozenset()
    granted_scopes: frozenset[str] = frozenset()
    name: str | None = None
    token: str = field(default="", repr=False, compare=False)

    @property
    def is_platform(self) -> bool:
        return Role.platform_admin in self.roles or Role.service in self.roles

    @property
    def scopes(self) -> frozenset[str]:
        by_role = frozenset().union(*(ROLE_SCOPES.get(r, frozenset()) for r in self.roles))
        if self.kind == PrincipalKind.client:
            return by_role & self.granted_scopes
        return by_role

    def has_scope(self, scope: Scope | str) -> bool:
        return str(scope) in self.scopes

    def require_scope(self, scope: Scope | str) -> None:
        if not self.has_scope(scope):
            raise Forbidden(f"This action needs the '{scope}' scope", required_scope=str(scope))

    def require_role(self, *roles: Role) -> None:
        if not (self.roles & set(roles)) and not self.is_platform:
            raise Forbidden(f"This action needs one of the roles: {', '.join(roles)}")

    def can_access_district(self, district_id: uuid.UUID | None) -> bool:
        return self.is_platform or (district_id is not None and district_id in self.district_ids)

    def require_district(self, district_id: uuid.UUID | None, *, resource: str = "Resource") -> None:
        """Another district's resource is answered as absent, so ids cannot be probed."""
        if not self.can_access_district(district_id):
            raise NotFound(f"{resource} not found")

    @property
    def is_school_scoped(self) -> bool:
        return not self.is_platform and Role.district_admin not in self.roles and Role.leader in self.roles and bool(self.school_ids)

    def can_access_school(self, school_id: uuid.UUID | None) -> bool:
        return not self.is_school_scoped or school_id is None or school_id in self.school_ids

    def can_access_org(self, district_id: uuid.UUID | None, org_id: uuid.UUID) -> bool:
        """A district-level resource, or one of a school-scoped leader's own schools."""
        return self.can_access_district(district_id) and (org_id == district_id or self.can_access_school(org_id))

    def acting_district(self, requested: uuid.UUID | None) -> uuid.UUID:
        """The district a request acts for: the one named, else the caller's only district."""
        district = requested or self.default_district()
        if district is None:
            raise Unprocessable("Name the district: you belong to several, or to none", field="district")
        self.require_district(district, resource="District")
        return district

    def default_district(self) -> uuid.UUID | None:
        return next(iter(sorted(self.district_ids))) if len(self.district_ids) == 1 else None
