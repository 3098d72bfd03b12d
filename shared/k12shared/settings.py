"""The one settings class of the platform. Every variable carries the ``K12_`` prefix."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


DEV_ORIGINS = ["http://localhost:5173", "http://localhost:3000"]  # Vite and the usual React dev server


class InsecureConfiguration(RuntimeError):
    """Raised as is, not as a pydantic ValidationError, which would print the offending values: secrets."""


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="K12_", extra="ignore")

    env: Environment = Environment.development
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/k12perform"
    db_pool_size: int = 10
    db_max_overflow: int = 10

    # Tokens: the platform signs RS256 with keys in keys_dir; services verify with the same
    # public keys and, when configured, an external OIDC issuer's JWKS.
    jwt_issuer: str = "https://k12perform.local"
    jwt_audience: str = "k12perform"
    access_token_ttl_s: int = 3600
    keys_dir: Path = REPO_ROOT / ".data" / "keys"
    # A district's identity provider (OpenID Connect): people sign in there, the web app exchanges the ID token
    # for a platform token at POST /auth/oidc/token (their roles come from their memberships, not the IdP).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None  # the web app's client at the provider: the audience of its ID tokens
    oidc_audience: str | None = None  # of the provider's access tokens, when partners present those directly
    oidc_jwks_url: str | None = None
    # The reference web app the gateway serves at `/` (plain ES modules; not served when the folder is absent).
    web_app_dir: Path = REPO_ROOT / "web" / "app"

    # Where the services are, for the gateway and for service-to-service calls.
    gateway_url: str = "http://127.0.0.1:8000"
    metrics_url: str = "http://127.0.0.1:8001"
    routines_url: str = "http://127.0.0.1:8002"
    ingest_url: str = "http://127.0.0.1:8003"
    upstream_connect_timeout_s: float = 2.0
    upstream_read_timeout_s: float = 30.0
    upstream_pool_size: int = 100
    # Idle pooled connections are dropped well before the services' keep-alive window (75 s in infra/Procfile;
    # uvicorn's default is 5 s) closes them, so a request is never sent on a connection being closed.
    upstream_keepalive_expiry_s: float = 3.0

    # How long the gateway keeps a caller's complete dashboard (0: never); see k12_gateway/screens/cache.py.
    screen_cache_fresh_s: float = 5.0

    max_body_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 512 * 1024 * 1024
    max_page_size: int = 500
    suppression_threshold: int = 10
    # Per-state small-n thresholds overriding suppression_threshold, as JSON: {"TX": 5}.
    suppression_thresholds_by_state: dict[str, int] = Field(default_factory=dict)
    log_level: str = "INFO"

    # routines-api: outbound webhooks (Standard Webhooks) and action reminders.
    webhook_timeout_s: float = 10.0  # one delivery attempt
    webhook_max_attempts: int = 8  # per event and subscriber, then the delivery is failed
    webhook_retry_base_s: float = 30.0  # backoff: base * 2^(attempt-1), at most a day
    webhook_pause_after_failures: int = 20  # consecutive failed attempts that pause a subscription
    action_due_soon_days: int = 3  # action.due_soon is sent this many days before the due date
    # Edge (gateway): rate limits per API client / user and per webhook source, fixed one-minute windows.
    rate_limit_per_minute: int = 600
    # Per SIS source on /webhooks/sis/{source_id}.
    webhook_rate_limit_per_minute: int = 600
    # How long an Idempotency-Key's first response is kept and replayed.
    idempotency_ttl_s: int = 24 * 3600
    # Encrypts the stored responses (they may hold a shown-once secret), together with the caller's own key.
    idempotency_encryption_key: str = Field(default="dev-only-idempotency-key-change-me", repr=False)
    # Browser origins allowed by CORS (JSON list in K12_CORS_ORIGINS); development adds the local SPA dev servers.
    cors_origins: list[str] = []
    # Ingest: where uploaded and pulled files wait for the worker (shared by the ingest API and its worker).
    ingest_spool_dir: Path = REPO_ROOT / ".data" / "ingest-spool"
    # Ingest: a file whose share of bad rows is above this loads nothing.
    ingest_max_bad_row_share: float = 0.1
    # Roster archives (OneRoster CSV zips): what an archive may weigh, hold and unpack to (zip bombs are refused).
    roster_max_archive_bytes: int = 64 * 1024 * 1024
    roster_max_members: int = 32
    roster_max_unpacked_bytes: int = 512 * 1024 * 1024
    roster_max_compression_ratio: int = 100
    # SIS webhooks: how long the previous signing secret stays valid after a rotation.
    webhook_secret_grace_s: int = 24 * 3600

    # Keyed hash for student identifiers: pseudonyms stable per deployment, useless elsewhere.
    pseudonym_key: str = Field(default="dev-only-pseudonym-key-change-me", repr=False)

    @model_validator(mode="after")
    def _real_secrets_in_production(self) -> Settings:
        """Production never runs on the development keys (pseudonyms would be guessable by anyone with this code)."""
        if self.env == Environment.production:
            weak = [name for name in PRODUCTION_SECRETS if _is_placeholder(getattr(self, name))]
            if weak:
                names = ", ".join(f"K12_{name.upper()}" for name in weak)
                raise InsecureConfiguration(f"production needs real secrets of at least {MIN_SECRET_LENGTH} characters: set {names}")
        return self

    @property
    def is_production(self) -> bool:
        return self.env == Environment.production

    @property
    def allowed_origins(self) -> list[str]:
        dev = DEV_ORIGINS if self.env == Environment.development else []
        return list(dict.fromkeys([*self.cors_origins, *dev]))


PRODUCTION_SECRETS = ("pseudonym_key", "idempotency_encryption_key")
MIN_SECRET_LENGTH = 32


def _is_placeholder(secret: str) -> bool:
    return secret.startswith(("dev-only-", "REPLACE_ME")) or len(secret) < MIN_SECRET_LENGTH


@lru_cache
def get_settings() -> Settings:
    return Settings()
