"""Issuing and verifying access tokens. The only module that touches the JWT library.

python-jose requires no claim by default (a token without ``aud`` even passes its audience
check), so every claim is required explicitly and the algorithm list is fixed to RS256.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable

from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError

from k12shared.auth.keys import Keyring
from k12shared.auth.principal import Principal, PrincipalKind, Role
from k12shared.errors import Unauthorized
from k12shared.settings import Settings

ALGORITHMS = ["RS256"]
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
_DECODE_OPTIONS = {
    "verify_signature": True,
    "verify_aud": True,
    "verify_iat": True,
    "verify_exp": True,
    "verify_nbf": True,
    "verify_iss": True,
    "verify_sub": True,
    "verify_jti": True,
    "verify_at_hash": False,
    **{f"require_{claim}": True for claim in REQUIRED_CLAIMS},
    "leeway": 30,
}
# Tokens already verified, until they expire: a caller's token is presented on every request, to the
# gateway and again to each service, and its answer never changes (the same text, the same claims).
VERIFIED_TOKENS_KEPT = 10_000
_verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()


def issue_token(
    settings: Settings,
    keyring: Keyring,
    *,
    subject: str,
    kind: PrincipalKind,
    roles: Iterable[str],
    district_ids: Iterable[uuid.UUID] = (),
    school_ids: Iterable[uuid.UUID] = (),
    scopes: Iterable[str] = (),
    name: str | None = None,
    ttl_s: int | None = None,
) -> tuple[str, int]:
    now = int(time.time())
    ttl = ttl_s or settings.access_token_ttl_s
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "kind": str(kind),
        "roles": sorted(str(r) for r in roles),
        "districts": sorted(str(d) for d in district_ids),
        "schools": sorted(str(s) for s in school_ids),
        "scope": " ".join(sorted(scopes)),
    }
    if name:
        claims["name"] = name
    key = keyring.active
    token = jwt.encode(claims, key.private_pem.decode(), algorithm="RS256", headers={"kid": key.kid})
    return token, ttl


async def verify_token(token: str, settings: Settings, keyring: Keyring) -> Principal:
    """Verify signature and claims; return who is calling or raise 401."""
    kept = _verified.get(token)
    if kept is not None and time.time() < kept[0]:
        return kept[1]
    claims = await _verified_claims(token, settings, keyring)
    principal = _principal_from_claims(claims, token)
    _remember(token, float(claims["exp"]), principal)
    return principal


def _remember(token: str, expires_at: float, principal: Principal) -> None:
    _verified[token] = (expires_at, principal)
    if len(_verified) > VERIFIED_TOKENS_KEPT:
        _verified.popitem(last=False)  # the oldest verified first


@functools.lru_cache(maxsize=32)
def _verifying_key(jwk_json: str) -> Key:
    """A JWK made into a key once (building the RSA key costs more than checking a signature with it)."""
    return jwk.construct(json.loads(jwk_json), ALGORITHMS[0])


async def verify_identity_token(token: str, settings: Settings, keyring: Keyring) -> dict:
    """An ID token from the configured identity provider: signed with its keys, issued by it, for our web app's
    client id, unexpired. Returns its claims; who that person is on the platform is the caller's question."""
    if not (settings.oidc_issuer and settings.oidc_client_id):
        raise Unauthorized("No identity provider is configured")
    key = await keyring.external_key(_checked_kid(token))
    if key is None:
        raise Unauthorized("Unknown signing key")
    return _decode(token, key, issuer=settings.oidc_issuer, audience=settings.oidc_client_id)


async def _verified_claims(token: str, settings: Settings, keyring: Keyring) -> dict:
    kid = _checked_kid(token)
    key = keyring.local_key(kid)
    if key is not None:
        return _decode(token, key, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    key = await keyring.external_key(kid)
    if key is None:
        raise Unauthorized("Unknown signing key")
    return _decode(token, key, issuer=settings.oidc_issuer or settings.jwt_issuer, audience=settings.oidc_audience or settings.jwt_audience)


def _checked_kid(token: str) -> str | None:
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError:
        raise Unauthorized("Malformed token") from None
    if header.get("alg") not in ALGORITHMS:
        raise Unauthorized("Token algorithm not accepted")
    return header.get("kid")


def _decode(token: str, key: dict, *, issuer: str, audience: str) -> dict:
    try:
        verifying_key = _verifying_key(json.dumps(key, sort_keys=True))
        return jwt.decode(token, verifying_key, algorithms=ALGORITHMS, audience=audience, issuer=issuer, options=_DECODE_OPTIONS)
    except JOSEError as exc:
        raise Unauthorized(f"Invalid token: {exc}") from None


def _principal_from_claims(claims: dict, token: str) -> Principal:
    try:
        roles = frozenset(Role(r) for r in claims.get("roles", []) if r in Role.__members__)
        return Principal(
            subject=str(claims["sub"]),
            kind=PrincipalKind(claims.get("kind", "user")),
            roles=roles,
            district_ids=frozenset(uuid.UUID(d) for d in claims.get("districts", [])),
            school_ids=frozenset(uuid.UUID(s) for s in claims.get("schools", [])),
            granted_scopes=frozenset(str(claims.get("scope", "")).split()),
            name=claims.get("name"),
            token=token,
        )
    except (ValueError, TypeError):
        raise Unauthorized("Token claims are malformed") from None


def service_token(settings: Settings, keyring: Keyring, service: str) -> str:
    """A short-lived token for a service acting on its own behalf (workers, notifications)."""
    token, _ = issue_token(settings, keyring, subject=f"service:{service}", kind=PrincipalKind.service, roles=[Role.service], ttl_s=300)
    return token
