"""Test helpers shared by every service's tests (the pytest plugin and the running platform live beside this)."""

from __future__ import annotations

from typing import Any

from k12shared.settings import Settings

# Secrets a production configuration must carry (the development defaults are refused there).
PRODUCTION_SECRETS = {"pseudonym_key": "p" * 44, "idempotency_encryption_key": "i" * 44}


def production_settings(**overrides: Any) -> Settings:
    return Settings(**{"env": "production", **PRODUCTION_SECRETS, **overrides})
