"""Everything routines-api asks of metrics-api, in one place. A failed call never fails the
caller: it comes back as ``Fetched(unavailable="why")`` so a pack can say which part is missing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from k12shared.http import ServiceClient


@dataclass
class Fetched:
    data: Any = None
    unavailable: str | None = None

    @property
    def ok(self) -> bool:
        return self.unavailable is None


class MetricsClient:
    def __init__(self, services: dict[str, ServiceClient], token: str | None) -> None:
        self.client = services["metrics"]
        self.token = token

    async def _call(self, method: str, path: str, **kwargs: Any) -> Fetched:
        try:
            response = await self.client.request(method, path, token=self.token, **kwargs)
        except httpx.HTTPError as exc:
            return Fetched(unavailable=f"metrics-api unreachable ({type(exc).__name__})")
        if response.status_code >= 400:
            return Fetched(unavailable=f"metrics-api answered {response.status_code} to {method} {path}")
        try:
            return Fetched(data=response.json())
        except ValueError:
            return Fetched(unavailable=f"metrics-api sent no JSON for {method} {path}")

    async def create_target(self, body: dict[str, Any]) -> Fetched:
        return await self._call("POST", "/api/v1/targets", json=body)

    async def target(self, target_id: uuid.UUID) -> Fetched:
        return await self._call("GET", f"/api/v1/targets/{target_id}")

    async def equity_gaps(self, org_id: uuid.UUID, metric: str) -> Fetched:
        return await self._call("GET", f"/api/v1/orgs/{org_id}/equity-gaps", params={"metric": metric})

    async def observations(self, org_id: uuid.UUID, metric: str, subgroup: str) -> Fetched:
        params = {"org": str(org_id), "metric": metric, "subgroup": subgroup, "limit": 100}
        return await self._call("GET", "/api/v1/observations", params=params)


OFF_TRACK = {"off_track", "off-track", "off", "off_trajectory", "behind"}


def data_status(target: dict[str, Any] | None) -> dict[str, str | None]:
    """The target's data status (on/off track) and RAG, wherever metrics-api puts them."""
    if not isinstance(target, dict):
        return {"status": None, "rag": None}
    status, rag = target.get("status"), target.get("rag")
    latest = target.get("latest") or next(
        (p for p in reversed(target.get("periods") or []) if isinstance(p, dict) and (p.get("status") or p.get("rag"))), None
    )
    if isinstance(latest, dict):
        status = status or latest.get("status")
        rag = rag or latest.get("rag")
    return {"status": str(status) if status else None, "rag": str(rag).lower() if rag else None}


def is_off_trajectory(status: dict[str, str | None]) -> bool:
    return (status.get("status") or "").lower() in OFF_TRACK or status.get("rag") in {"red", "amber"}
