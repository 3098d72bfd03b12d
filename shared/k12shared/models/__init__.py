"""The one schema of the platform. Each service writes only the tables it owns (see each module)."""

from k12shared.models.audit import AuditEntry
from k12shared.models.base import Base
from k12shared.models.catalog import Metric, Subgroup
from k12shared.models.edge import IdempotencyKey, RateLimitWindow
from k12shared.models.identity import ApiClient, User, UserMembership
from k12shared.models.ingest import (
    IngestFeed,
    IngestJob,
    IngestProfile,
    IngestRowError,
    SisDelivery,
    SisDerivePending,
    SisQuarantine,
    SisRecord,
    SisSource,
)
from k12shared.models.metrics import Framework, Score, Target
from k12shared.models.observations import Observation, ObservationHistory, ValueStatus, Visibility
from k12shared.models.orgs import Organization, OrgType
from k12shared.models.routines import (
    ActionItem,
    ActionStatusChange,
    CalendarFeed,
    CapacityReview,
    CapacityRubric,
    DeliveryPlan,
    Goal,
    Judgment,
    Meeting,
    MeetingDecision,
    MeetingPack,
    Milestone,
    OutboxEvent,
    Routine,
    Strategy,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookSubscription,
)

__all__ = [
    "ActionItem",
    "ActionStatusChange",
    "ApiClient",
    "AuditEntry",
    "Base",
    "CalendarFeed",
    "CapacityReview",
    "CapacityRubric",
    "DeliveryPlan",
    "Framework",
    "Goal",
    "IdempotencyKey",
    "IngestFeed",
    "IngestJob",
    "IngestProfile",
    "IngestRowError",
    "Judgment",
    "Meeting",
    "MeetingDecision",
    "MeetingPack",
    "Metric",
    "Milestone",
    "Observation",
    "ObservationHistory",
    "OrgType",
    "Organization",
    "OutboxEvent",
    "RateLimitWindow",
    "Routine",
    "Score",
    "SisDelivery",
    "SisDerivePending",
    "SisQuarantine",
    "SisRecord",
    "SisSource",
    "Strategy",
    "Subgroup",
    "Target",
    "User",
    "UserMembership",
    "ValueStatus",
    "Visibility",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookSubscription",
]
