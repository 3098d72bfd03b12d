"""routines-api: delivery plans, routines and meetings, packs, judgments, action items,
reminders, calendars, capacity reviews and outbound webhooks."""

from __future__ import annotations

from k12shared.app import create_service_app
from k12_routines import internal
from k12_routines.actions.router import router as actions
from k12_routines.capacity.router import router as capacity
from k12_routines.meetings.router import router as meetings
from k12_routines.plans.router import router as plans
from k12_routines.routines.router import router as routines
from k12_routines.webhooks.router import router as webhooks

app = create_service_app(
    "routines-api",
    title="K12 Perform routines API",
    description="Delivery plans, routines and meetings, packs, judgments, action items, reminders, calendars, capacity reviews.",
    routers=[plans, routines, meetings, actions, capacity, webhooks, internal.router],
)
