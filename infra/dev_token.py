"""`make token ROLE=<role> [DISTRICT=<id, state id or NCES id>]`: a dev token, alone on the last line."""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from platform_client import dev_token  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", required=True, choices=["platform_admin", "district_admin", "leader", "staff"])
    parser.add_argument("--district", default=None)
    args = parser.parse_args()
    if os.environ.get("K12_ENV") == "production":
        sys.exit("Development tokens are refused in production.")
    print(dev_token(args.role, args.district or None))
