"""A small client of the running platform for the dev scripts (seed, token, bench)."""

from __future__ import annotations

import os
import sys
import time

import httpx

GATEWAY = os.environ.get("K12_GATEWAY_URL", "http://127.0.0.1:8000")


def wait_until_ready(timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{GATEWAY}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    sys.exit(f"The platform at {GATEWAY} is not ready. Start it with `make run`.")


def dev_token(role: str, district: str | None = None) -> str:
    body = {"role": role} | ({"district": district} if district else {})
    try:
        response = httpx.post(f"{GATEWAY}/auth/dev-token", json=body, timeout=10)
    except httpx.HTTPError:
        sys.exit(f"Cannot reach the platform at {GATEWAY}. Start it with `make run`.")
    if response.status_code != 200:
        sys.exit(f"Token refused ({response.status_code}): {response.json().get('detail', response.text)}")
    return response.json()["access_token"]
