"""ingest"""

from __future__ import annotations

from k12shared.app import create_service_app

app = create_service_app(
    "ingest",
    title=" state data feeds, file uploads, SIS webhooks and the jobs that load them.:K12 Perform ingest",
    description="ingest",
    routers=[],
)
