"""Load the demo dataset through the platform's own API, once the gateway is ready.

Every step is idempotent, so a second `make run` adds nothing. Steps live in infra/demo/,
one module per domain, each with ``run(api)``; they run in the order of STEPS.
"""

from __future__ import annotations

import importlib
import os
import sys
import time

import httpx

sys.path.insert(0, os.path.dirname(__file__))
from platform_client import GATEWAY, dev_token, wait_until_ready  # noqa: E402

STEPS = ["demo.orgs", "demo.ingest", "demo.metrics", "demo.routines"]


def main() -> None:
    wait_until_ready()
    started = time.monotonic()
    admin = dev_token("platform_admin")
    with httpx.Client(base_url=GATEWAY, headers={"authorization": f"Bearer {admin}"}, timeout=120) as api:
        for name in STEPS:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError:
                continue
            module.run(api)
    print(
        f"\n  K12 Perform is up ({time.monotonic() - started:.1f}s to load demo data)\n"
        f"  API and docs:   {GATEWAY}/docs\n"
        f"  Web app:        {GATEWAY}/\n"
        f"  A token:        make token ROLE=district_admin   (roles: platform_admin, district_admin, leader, staff)\n"
        f"  Try:            curl -H \"Authorization: Bearer $(make -s token ROLE=district_admin | tail -1)\" {GATEWAY}/api/v1/orgs?state_id=096088\n",
        flush=True,
    )


if __name__ == "__main__":
    main()
