"""Every service verifies every token itself: forged, expired or misaddressed tokens get 401 problem+json."""

from __future__ import annotations

import base64
import hmac
import hashlib
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from jose import jwt

from k12_gateway.main import app as gateway_app
from k12_ingest.main import app as ingest_app
from k12_metrics.main import app as metrics_app
from k12_routines.main import app as routines_app

# A route on each service that needs a valid token.
PROTECTED = {
    "gateway": (gateway_app, "/api/v1/api-clients"),
    "metrics": (metrics_app, "/api/v1/orgs"),
    "routines": (routines_app, "/internal/whoami"),
    "ingest": (ingest_app, "/internal/whoami"),
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(settings, **overrides):
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "attacker",
        "iat": now,
        "exp": now + 600,
        "roles": ["platform_admin"],
        "districts": [],
        "kind": "user",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _hs256_with(secret: bytes, kid: str, claims: dict) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _rs256(keyring, claims: dict) -> str:
    key = keyring.active
    return jwt.encode(claims, key.private_pem.decode(), algorithm="RS256", headers={"kid": key.kid})


def forged_tokens(settings, keyring) -> dict[str, str]:
    key = keyring.active
    private = serialization.load_pem_private_key(key.private_pem, password=None)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public_der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    good = _rs256(keyring, _claims(settings))
    header, payload, signature = good.split(".")
    tampered_payload = _b64(json.dumps(_claims(settings, sub="someone-else", districts=["00000000-0000-0000-0000-000000000001"])).encode())
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": key.kid}).encode())
    return {
        "hs256_public_pem": _hs256_with(public_pem, key.kid, _claims(settings)),
        "hs256_public_der": _hs256_with(public_der, key.kid, _claims(settings)),
        "alg_none": f"{none_header}.{payload}.",
        "tampered_payload": f"{header}.{tampered_payload}.{signature}",
        "expired": _rs256(keyring, _claims(settings, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
        "wrong_audience": _rs256(keyring, _claims(settings, aud="someone-else")),
        "missing_audience": _rs256(keyring, _claims(settings, aud=None)),
        "wrong_issuer": _rs256(keyring, _claims(settings, iss="https://evil.example")),
        "missing_exp": _rs256(keyring, _claims(settings, exp=None)),
        "missing_iat": _rs256(keyring, _claims(settings, iat=None)),
        "missing_sub": _rs256(keyring, _claims(settings, sub=None)),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("service", sorted(PROTECTED))
async def test_every_forged_token_is_refused_by_every_service(service, settings, keyring, app_client):
    app, path = PROTECTED[service]
    async with app_client(app) as client:
        for name, token in forged_tokens(settings, keyring).items():
            response = await client.get(path, headers={"authorization": f"Bearer {token}"})
            assert response.status_code == 401, (service, name, response.text)
            assert response.headers["content-type"].startswith("application/problem+json"), name
            assert response.json()["status"] == 401
        missing = await client.get(path)
        assert missing.status_code == 401


async def test_a_valid_token_is_accepted(settings, keyring, app_client):
    async with app_client(metrics_app) as client:
        token = _rs256(keyring, _claims(settings, roles=["staff"], scope="", jti="x1"))
        response = await client.get("/api/v1/orgs", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text


async def test_a_verified_token_is_kept_until_it_expires_and_then_verified_again(settings, keyring, monkeypatch):
    from k12shared.auth import tokens
    from k12shared.auth.principal import PrincipalKind

    token, _ = tokens.issue_token(settings, keyring, subject="kept", kind=PrincipalKind.user, roles=["staff"], ttl_s=60)
    first = await tokens.verify_token(token, settings, keyring)
    # Kept: answered even with the signing key gone (the same text carries the same verified claims).
    monkeypatch.setattr(keyring, "signing_keys", [])
    assert await tokens.verify_token(token, settings, keyring) == first
    # Past its expiry it is verified afresh: with no key to check it against, refused.
    later = time.time() + 61
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    with pytest.raises(Exception, match="Unknown signing key"):
        await tokens.verify_token(token, settings, keyring)


async def test_a_tampered_copy_of_a_kept_token_is_still_refused(settings, keyring):
    from k12shared.auth import tokens
    from k12shared.auth.principal import PrincipalKind

    token, _ = tokens.issue_token(settings, keyring, subject="kept", kind=PrincipalKind.user, roles=["staff"])
    await tokens.verify_token(token, settings, keyring)
    header, payload, signature = token.split(".")
    tampered = _b64(json.dumps({**json.loads(base64.urlsafe_b64decode(payload + "==")), "roles": ["platform_admin"]}).encode())
    with pytest.raises(Exception, match="Invalid token"):
        await tokens.verify_token(f"{header}.{tampered}.{signature}", settings, keyring)


async def test_verified_tokens_kept_are_bounded(settings, keyring, monkeypatch):
    from k12shared.auth import tokens
    from k12shared.auth.principal import PrincipalKind

    monkeypatch.setattr(tokens, "VERIFIED_TOKENS_KEPT", 3)
    issued = [tokens.issue_token(settings, keyring, subject=f"u{i}", kind=PrincipalKind.user, roles=["staff"])[0] for i in range(5)]
    for token in issued:
        await tokens.verify_token(token, settings, keyring)
    assert len(tokens._verified) <= 3 and issued[-1] in tokens._verified and issued[0] not in tokens._verified
