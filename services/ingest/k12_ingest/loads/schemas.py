from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class DataLoadOut(BaseModel):
    """One source of a district's numbers and where it stands: a state file that brought data to the
    district, or one of the district's SIS feeds with its latest delivery."""

    id: uuid.UUID = Field(description="The ingest job (state files) or the SIS source")
    kind: Literal["upload", "feed", "sis"] = Field(description="An uploaded or pulled state file, or an SIS feed")
    source: str = Field(description="The file's mapping profile, or the SIS source's name", examples=["mo-dese-district-graduation"])
    status: str = Field(description="A state file's job status; an SIS feed's latest delivery status (`none` before the first)")
    observations: int | None = Field(description="The district's observations in the file, or the records in the latest delivery")
    observations_changed: int | None = Field(description="Of the file's observations of the district, how many were new or changed")
    loaded_at: datetime | None = Field(description="When the file loaded, or the latest delivery arrived")
