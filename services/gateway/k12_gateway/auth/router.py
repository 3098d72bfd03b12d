"""Tokens (OAuth2 client credentials), signing keys, and development sign-in."""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field
from fastapi import Depends

from k12shared import audit
from k12shared.auth import Principal, PrincipalKind, Role, issue_token, verify_identity_token
from k12shared.db import SessionDep
from k12shared.errors import BadRequest, NotFound, Problem, Unauthorized
from k12shared.models import User
from k12_gateway.auth import oidc
from k12_gateway.auth.users import demo_platform_admin, demo_user, find_district
from k12_gateway.clients import service as clients

router = APIRouter(tags=["auth"])
_basic = HTTPBasic(auto_error=False)


class TokenOut(BaseModel):
    access_token: str = Field(description="A JWT (RS256); send it as `Authorization: Bearer <token>`", examples=["eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.e30.c2ln"])
    token_type: str = Field("Bearer", examples=["Bearer"])
    expires_in: int = Field(description="Seconds until the token expires", examples=[3600])
    scope: str = Field("", description="The scopes granted, space-separated", examples=["metrics:read routines:read"])


class DevTokenIn(BaseModel):
    role: Role = Field(examples=["district_admin"])
    district: str | None = Field(None, description="Platform id, state id or NCES id; the demo district when omitted")


@router.get(
    "/.well-known/jwks.json",
    operation_id="getJwks",
    openapi_extra={"security": []},  # no token needed
    summary="Public keys that sign K12 Perform tokens",
    description="A JSON Web Key Set (RFC 7517). Keys carry a `kid`; during a key rotation both the new and the previous key are listed.",
)
async def jwks(request: Request) -> dict:
    return request.app.state.keyring.own_jwks()


@router.post(
    "/auth/token",
    operation_id="issueToken",
    openapi_extra={"security": []},  # no token needed
    summary="OAuth2 client credentials: exchange client id and secret for a token",
    description=(
        "RFC 6749 §4.4. Send `grant_type=client_credentials` form-encoded, with the client id and secret either as form "
        "fields or in HTTP Basic authentication. `scope` narrows the token to some of the client's scopes. "
        "Errors carry the OAuth2 `error` code (`invalid_client`, `invalid_scope`, `unsupported_grant_type`)."
    ),
    responses={400: {"description": "Unsupported grant type or scope not granted"}, 401: {"description": "Unknown client, wrong or revoked secret"}},
)
async def token(
    request: Request,
    session: SessionDep,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)] = None,
) -> TokenOut:
    if grant_type != "client_credentials":
        raise BadRequest("Only grant_type=client_credentials is supported", error="unsupported_grant_type")
    if basic is not None:
        client_id, client_secret = basic.username, basic.password
    if not client_id or not client_secret:
        raise Unauthorized("Client id and secret are required", error="invalid_client")
    client = await clients.authenticate(session, client_id, client_secret)
    if client is None:
        raise Unauthorized("Unknown client or wrong secret", error="invalid_client")
    granted = set(client.scopes)
    requested = set(scope.split()) if scope else granted
    if not requested <= granted:
        raise BadRequest(f"Scopes not granted to this client: {' '.join(sorted(requested - granted))}", error="invalid_scope")
    settings, keyring = request.app.state.settings, request.app.state.keyring
    access_token, ttl = issue_token(
        settings,
        keyring,
        subject=f"client:{client.client_id}",
        kind=PrincipalKind.client,
        roles=client.roles,
        district_ids=[client.district_id] if client.district_id else [],
        scopes=requested,
        name=client.name,
    )
    issued_to = Principal(subject=f"client:{client.client_id}", kind=PrincipalKind.client, roles=frozenset(), district_ids=frozenset({client.district_id}) if client.district_id else frozenset())
    await audit.record(session, request, issued_to, action="issue_token", resource="api_client", resource_id=client.id, district_id=client.district_id, detail={"scopes": sorted(requested)})
    return TokenOut(access_token=access_token, expires_in=ttl, scope=" ".join(sorted(requested)))


@router.post(
    "/auth/dev-token",
    operation_id="issueDevToken",
    openapi_extra={"security": []},  # no token needed
    summary="Development only: a token for a demo user of a role",
    description="Signs in a demo user of the given role in a district (by platform id, state id or NCES id). Answers 404 in production.",
)
async def dev_token(data: DevTokenIn, request: Request, session: SessionDep) -> TokenOut:
    if request.app.state.settings.is_production:
        raise NotFound("Not available")
    if data.role == Role.service:
        raise Problem("Service tokens are not issued to people", status=422, slug="validation-error")
    if data.role == Role.platform_admin and data.district is None:
        # The platform admin runs the platform, and may sign in before any district exists.
        user, schools, districts = await demo_platform_admin(session), [], []
    else:
        district = await find_district(session, data.district)
        user, schools = await demo_user(session, data.role, district)
        districts = [district.id]
    return _person_token(request, user, [data.role], districts, schools)


def _person_token(request: Request, user: User, roles: list[str], districts: list[uuid.UUID], schools: list[uuid.UUID]) -> TokenOut:
    """A platform token for a person signed in (by the dev picker or the identity provider)."""
    settings, keyring = request.app.state.settings, request.app.state.keyring
    access_token, ttl = issue_token(
        settings, keyring, subject=user.subject, kind=PrincipalKind.user, roles=roles, district_ids=districts, school_ids=schools, name=user.display_name
    )
    return TokenOut(access_token=access_token, expires_in=ttl)


class IdentityTokenIn(BaseModel):
    id_token: str = Field(max_length=16_384, description="The ID token the identity provider gave the web app")
    nonce: str = Field(min_length=16, max_length=200, description="The nonce the web app sent in its authorization request")
    district_id: uuid.UUID | None = Field(None, description="For a person in several districts: the one to sign in to")


@router.post(
    "/auth/oidc/token",
    operation_id="exchangeIdentityToken",
    openapi_extra={"security": []},  # the ID token is the credential
    summary="Sign in with the district's identity provider: its ID token for a platform token",
    description=(
        "After the authorization code flow with PKCE at the provider named by `GET /app/v1/sign-in-options`. The person must "
        "have been invited (`POST /api/v1/users`) with the email the provider verifies; the token's roles and districts are "
        "their memberships on the platform."
    ),
    responses={401: {"description": "The ID token is not valid for this platform"}, 403: {"description": "Nobody invited this person"}},
)
async def exchange_identity_token(data: IdentityTokenIn, request: Request, session: SessionDep) -> TokenOut:
    claims = await verify_identity_token(data.id_token, request.app.state.settings, request.app.state.keyring)
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), data.nonce.encode()):
        raise Unauthorized("The ID token was not issued for this sign-in (nonce)")
    user = await oidc.find_person(session, claims)
    roles, districts, schools = await oidc.grant(session, user, data.district_id)
    signed_in = Principal(subject=user.subject, kind=PrincipalKind.user, roles=frozenset(Role(r) for r in roles), district_ids=frozenset(districts))
    await audit.record(session, request, signed_in, action="sign_in", resource="user", resource_id=user.id, district_id=districts[0] if districts else None)
    return _person_token(request, user, roles, districts, schools)
