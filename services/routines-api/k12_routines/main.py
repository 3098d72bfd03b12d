"""routines-api"""

from __future__ import annotations

from k12shared.app import create_service_app

app = create_service_app(
    "routines-api",
    title=" delivery plans, routines and meetings, packs, judgments, action items, reminders, calendars, capacity reviews.:K12 Perform routines API",
    description="routines-api",
    routers=[],
)
