from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# PostgreSQL's inet comes back as an ipaddress object.
Address = Annotated[str | None, BeforeValidator(lambda v: None if v is None else str(v))]


class AuditEntryOut(BaseModel):
    """One audited event: who (actor), what (action on resource), when (at), from where (client_ip, service)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str = Field(description="Token subject: a user, an API client (`client:<client_id>`) or a service")
    actor_kind: str = Field(examples=["user"])
    district_id: uuid.UUID | None
    action: str = Field(examples=["read"])
    resource: str = Field(examples=["score"])
    resource_id: str | None
    service: str = Field(description="The service that performed the action", examples=["metrics"])
    client_ip: Address = Field(description="The caller's address as the gateway saw it")
    request_id: str | None
    detail: dict[str, Any] | None
