"""Signing keys: RSA keys in ``K12_KEYS_DIR`` (one PEM file a key), the newest signs.

Several keys may be live at once for rotation: drop a new ``*.pem`` in the folder, wait one
token lifetime, remove the old one. Every service loads the public halves to verify tokens
itself; an external OIDC issuer's JWKS can be trusted as well (``K12_OIDC_JWKS_URL``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from k12shared.settings import Settings

log = logging.getLogger("k12.auth.keys")
EXTERNAL_JWKS_TTL_S = 300


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(public_key: rsa.RSAPublicKey) -> dict:
    numbers = public_key.public_numbers()
    jwk = {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}
    # RFC 7638 thumbprint as the key id: stable, derived from the key itself.
    thumbprint = hashlib.sha256(json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()).digest()
    kid = base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode()[:16]
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: bytes
    public_jwk: dict


def generate_key_file(keys_dir: Path) -> Path:
    keys_dir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = keys_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.pem"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pem)
    tmp.chmod(0o600)
    tmp.rename(path)
    return path


def load_signing_keys(keys_dir: Path, *, create_if_missing: bool) -> list[SigningKey]:
    """Keys sorted newest first (file names start with a timestamp)."""
    paths = sorted(keys_dir.glob("*.pem"), reverse=True) if keys_dir.exists() else []
    if not paths and create_if_missing:
        paths = [generate_key_file(keys_dir)]
    keys = []
    for path in paths:
        pem = path.read_bytes()
        private = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(private, rsa.RSAPrivateKey), f"{path.name} is not an RSA key"
        jwk = public_jwk(private.public_key())
        keys.append(SigningKey(kid=jwk["kid"], private_pem=pem, public_jwk=jwk))
    return keys


class Keyring:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.signing_keys = load_signing_keys(settings.keys_dir, create_if_missing=not settings.is_production)
        self._external: dict[str, dict] = {}
        self._external_fetched_at = 0.0

    @property
    def active(self) -> SigningKey:
        if not self.signing_keys:
            raise RuntimeError(f"no signing key in {self.settings.keys_dir}")
        return self.signing_keys[0]

    def own_jwks(self) -> dict:
        return {"keys": [k.public_jwk for k in self.signing_keys]}

    def local_key(self, kid: str | None) -> dict | None:
        return next((k.public_jwk for k in self.signing_keys if k.kid == kid), None)

    async def external_key(self, kid: str | None) -> dict | None:
        if not self.settings.oidc_jwks_url or kid is None:
            return None
        stale = time.monotonic() - self._external_fetched_at > EXTERNAL_JWKS_TTL_S
        if kid not in self._external or stale:
            await self._refresh_external()
        return self._external.get(kid)

    async def _refresh_external(self) -> None:
        # At most one fetch a few seconds, so unknown kids cannot make us hammer the issuer.
        if time.monotonic() - self._external_fetched_at < 5:
            return
        self._external_fetched_at = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(self.settings.oidc_jwks_url)
                response.raise_for_status()
            self._external = {k["kid"]: k for k in response.json().get("keys", []) if k.get("kid")}
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("could not fetch external JWKS", extra={"error": str(exc)})
