"""The one schema of the platform. Each service writes only the tables it owns (see each module)."""

from k12shared.models.audit import AuditEntry
from k12shared.models.base import Base
from k12shared.models.catalog import Metric, Subgroup
from k12shared.models.identity import ApiClient, User, UserMembership
from k12shared.models.ingest import IngestFeed, IngestJob, IngestProfile, IngestRowError, SisQuarantine, SisRecord, SisSource, WebhookDelivery
from k12shared.models.observations import Observation, ObservationHistory, ValueStatus, Visibility
from k12shared.models.orgs import Organization, OrgType

__all__ = [
    "ApiClient",
    "AuditEntry",
    "Base",
    "IngestFeed",
    "IngestJob",
    "IngestProfile",
    "IngestRowError",
    "Metric",
    "Observation",
    "ObservationHistory",
    "OrgType",
    "Organization",
    "SisQuarantine",
    "SisRecord",
    "SisSource",
    "Subgroup",
    "User",
    "UserMembership",
    "ValueStatus",
    "Visibility",
    "WebhookDelivery",
]
