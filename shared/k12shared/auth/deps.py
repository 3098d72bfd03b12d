"""FastAPI dependencies so every service checks identity, role, scope and district the same way."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from k12shared.auth.principal import Principal, Role, Scope
from k12shared.auth.tokens import verify_token
from k12shared.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False, description="RS256 access token from POST /auth/token")


async def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    principal = await verify_token(credentials.credentials, request.app.state.settings, request.app.state.keyring)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def requires(scope: Scope | None = None, *roles: Role):
    """A dependency that admits a caller holding ``scope`` (and one of ``roles`` if given)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if roles:
            principal.require_role(*roles)
        if scope is not None:
            principal.require_scope(scope)
        return principal

    return Depends(check)


MetricsReader = Annotated[Principal, requires(Scope.metrics_read)]
MetricsWriter = Annotated[Principal, requires(Scope.metrics_write)]
RoutinesReader = Annotated[Principal, requires(Scope.routines_read)]
RoutinesWriter = Annotated[Principal, requires(Scope.routines_write)]
IngestReader = Annotated[Principal, requires(Scope.ingest_read)]
IngestWriter = Annotated[Principal, requires(Scope.ingest_write)]
PlatformAdmin = Annotated[Principal, requires(None, Role.platform_admin)]
