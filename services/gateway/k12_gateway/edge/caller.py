"""Who is calling, decided once per request and kept in the request state for the layers below."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.types import Scope

from k12shared.auth.principal import Principal
from k12shared.auth.tokens import verify_token

AUTHENTICATED_PREFIXES = ("/api/v1/", "/app/v1/")
_WEBHOOK_SOURCE = re.compile(r"^/webhooks/sis/([^/]+)")


@dataclass(frozen=True)
class Caller:
    bucket: str  # the rate-limit bucket and the idempotency namespace
    limit_per_minute: int
    principal: Principal | None = None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            text = value.decode("latin-1")
            return text[7:].strip() if text[:7].lower() == "bearer " else None
    return None


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


async def identify(scope: Scope) -> Caller | None:
    """The caller of a limited route, or None for routes the edge leaves alone (health, docs, auth)."""
    path: str = scope["path"]
    settings = scope["app"].state.settings
    webhook = _WEBHOOK_SOURCE.match(path)
    if webhook:
        return Caller(f"webhook:sis:{webhook.group(1)[:200]}", settings.webhook_rate_limit_per_minute)
    if not path.startswith(AUTHENTICATED_PREFIXES):
        return None
    token = _bearer(scope)
    if token:
        try:
            principal = await verify_token(token, settings, scope["app"].state.keyring)
        except Exception:  # 401 is the route's to answer, with the reason; here it only picks the bucket
            principal = None
        if principal is not None:
            # The proxy and the routes reuse it instead of verifying the token again.
            scope.setdefault("state", {})["principal"] = principal
            return Caller(_principal_bucket(principal), settings.rate_limit_per_minute, principal)
    # No valid token: the route answers 401, but attempts are still counted per address.
    return Caller(f"ip:{_client_ip(scope)}", settings.rate_limit_per_minute)


def _principal_bucket(principal: Principal) -> str:
    subject = principal.subject
    return subject if subject.startswith(f"{principal.kind}:") else f"{principal.kind}:{subject}"
