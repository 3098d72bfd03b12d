"""Which service owns which public path. The one place to add a route prefix."""

from __future__ import annotations

ROUTE_PREFIXES: dict[str, tuple[str, ...]] = {
    "ingest": ("/api/v1/ingest", "/webhooks"),
    "metrics": (
        "/api/v1/orgs",
        "/api/v1/metrics",
        "/api/v1/subgroups",
        "/api/v1/observations",
        "/api/v1/targets",
        "/api/v1/frameworks",
    ),
    "routines": (
        "/api/v1/plans",
        "/api/v1/goals",
        "/api/v1/strategies",
        "/api/v1/milestones",
        "/api/v1/routines",
        "/api/v1/meetings",
        "/api/v1/actions",
        "/api/v1/capacity-reviews",
        "/api/v1/capacity-rubrics",
        "/api/v1/webhook-subscriptions",
        "/api/v1/calendars",
    ),
}


def owner_of(path: str) -> str | None:
    for service, prefixes in ROUTE_PREFIXES.items():
        if any(path == p or path.startswith(p + "/") for p in prefixes):
            return service
    return None
