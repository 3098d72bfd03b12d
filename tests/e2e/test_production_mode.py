"""Development conveniences are gone in production: no dev sign-in on the gateway, no `make token`."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from k12shared.settings import REPO_ROOT
from k12shared.testing import PRODUCTION_SECRETS


def test_a_production_gateway_offers_no_development_sign_in(platform, tmp_path):
    secrets = {f"K12_{name.upper()}": value for name, value in PRODUCTION_SECRETS.items()}
    with platform.extra_gateway(tmp_path, K12_ENV="production", **secrets) as url:
        refused = httpx.post(url + "/auth/dev-token", json={"role": "platform_admin"})
        assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")
        options = httpx.get(url + "/app/v1/sign-in-options").json()
        assert options["dev_sign_in"] is False and options["demo_roles"] == []


def test_make_token_refuses_in_production():
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "dev_token.py"), "--role", "district_admin"],
        env={**os.environ, "K12_ENV": "production"}, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0 and "refused in production" in done.stderr and done.stdout == ""
