"""Production refuses to start on development secrets; development starts with nothing set."""

from __future__ import annotations

import pytest

from k12shared.settings import InsecureConfiguration, Settings
from k12shared.testing import PRODUCTION_SECRETS, production_settings


def test_development_needs_no_secrets():
    assert Settings(env="development").pseudonym_key.startswith("dev-only-")


@pytest.mark.parametrize("weak", ["dev-only-pseudonym-key-change-me", "REPLACE_ME_WITH_32_RANDOM_BYTES_BASE64", "short"])
def test_production_refuses_the_development_keys_the_manifest_placeholders_and_short_keys(weak):
    with pytest.raises(InsecureConfiguration) as refused:
        Settings(env="production", pseudonym_key=weak, idempotency_encryption_key=PRODUCTION_SECRETS["idempotency_encryption_key"])
    assert "K12_PSEUDONYM_KEY" in str(refused.value) and weak not in str(refused.value)  # names the variable, never echoes the value


def test_production_with_real_secrets_starts():
    assert production_settings().is_production
