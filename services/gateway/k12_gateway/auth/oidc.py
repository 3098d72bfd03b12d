"""Sign-in with a district's identity provider (OpenID Connect).

The web app runs the authorization code flow with PKCE at the provider (a public client: no secret lives
in the browser) and sends the ID token it got to POST /auth/oidc/token. It is verified there (signature,
issuer, our client id, expiry, the sign-in's nonce); the person is found by the provider's subject or, on
their first sign-in, by the verified email a district admin invited them with. Their platform token
carries the roles and districts of their memberships here, never anything the provider claims.
"""

from __future__ import annotations

import logging
import time
import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth import Role
from k12shared.errors import Forbidden
from k12shared.models import User, UserMembership
from k12shared.settings import Settings
from k12_gateway.users.service import INVITED

log = logging.getLogger("k12.gateway.oidc")
DISCOVERY_TTL_S = 3600
SCOPE = "openid email profile"
_discovery: dict[str, tuple[float, dict]] = {}  # issuer -> (fetched at, document)


async def provider(settings: Settings) -> dict | None:
    """Where the web app sends a person to sign in: the provider's endpoints and our client id there."""
    if not (settings.oidc_issuer and settings.oidc_client_id):
        return None
    document = await _discovery_document(settings.oidc_issuer)
    if document is None:
        return None
    return {
        "issuer": settings.oidc_issuer,
        "authorization_endpoint": document["authorization_endpoint"],
        "token_endpoint": document["token_endpoint"],
        "client_id": settings.oidc_client_id,
        "scope": SCOPE,
    }


async def _discovery_document(issuer: str) -> dict | None:
    kept = _discovery.get(issuer)
    if kept and time.monotonic() - kept[0] < DISCOVERY_TTL_S:
        return kept[1]
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
            response.raise_for_status()
            document = response.json()
        if not isinstance(document, dict) or not {"authorization_endpoint", "token_endpoint"} <= document.keys():
            raise ValueError("the discovery document names no authorization or token endpoint")
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("identity provider discovery failed", extra={"issuer": issuer, "error": str(exc)})
        return None
    _discovery[issuer] = (time.monotonic(), document)
    return document


def subject_of(claims: dict) -> str:
    return f"oidc:{claims['sub']}"


async def find_person(session: AsyncSession, claims: dict) -> User:
    """The person the provider vouches for; on a first sign-in, the invitation for their verified email is linked."""
    user = await session.scalar(select(User).where(User.subject == subject_of(claims)))
    if user is not None:
        return user
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is not True:
        raise Forbidden("Your identity provider gave no verified email address: ask your district admin to invite you")
    invited = select(User).where(func.lower(User.email) == email, User.subject.startswith(INVITED)).order_by(User.created_at).limit(1)
    user = await session.scalar(invited)
    if user is None:
        raise Forbidden(f"No K12 Perform account for {email}: ask your district admin to invite you")
    user.subject = subject_of(claims)  # from now on found by the provider's subject, whatever the email becomes
    await session.flush()
    return user


async def grant(session: AsyncSession, user: User, district_id: uuid.UUID | None) -> tuple[list[str], list[uuid.UUID], list[uuid.UUID]]:
    """Roles, districts and schools for the token: one role, and every district where the person holds it
    (the requested district's role, else their first membership's)."""
    if user.is_platform_admin:
        return [Role.platform_admin], [], []
    memberships = list(await session.scalars(select(UserMembership).where(UserMembership.user_id == user.id).order_by(UserMembership.district_id)))
    chosen = next((m for m in memberships if district_id is None or m.district_id == district_id), None)
    if chosen is None:
        raise Forbidden("You are not a member of that district" if district_id else "You are not a member of any district yet")
    same_role = [m for m in memberships if m.role == chosen.role]
    schools = sorted({school for m in same_role for school in m.school_ids})
    return [chosen.role], [m.district_id for m in same_role], schools
