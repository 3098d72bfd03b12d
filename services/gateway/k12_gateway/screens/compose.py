"""Compose a screen from several services concurrently; a part that fails is reported, not fatal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from k12shared.auth import Principal
from k12shared.http import ServiceClient

PART_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Part:
    name: str
    service: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)


async def _fetch(client: ServiceClient, part: Part, principal: Principal) -> tuple[str, Any, str | None]:
    try:
        response = await client.get(part.path, token=principal.token, params=part.params, timeout=PART_TIMEOUT_S, retry=False)
    except httpx.TimeoutException:
        return part.name, None, f"{part.service} timed out"
    except httpx.HTTPError:
        return part.name, None, f"{part.service} unavailable"
    if response.status_code >= 400:
        return part.name, None, f"{part.service} answered {response.status_code}"
    return part.name, response.json(), None


async def compose(services: dict[str, ServiceClient], principal: Principal, parts: list[Part]) -> dict[str, Any]:
    """``{part name: data or None, ..., "missing": [{"part", "reason"}]}``."""
    results = await asyncio.gather(*(_fetch(services[p.service], p, principal) for p in parts))
    screen: dict[str, Any] = {}
    missing = []
    for name, data, problem in results:
        screen[name] = data
        if problem:
            missing.append({"part": name, "reason": problem})
    screen["missing"] = missing
    return screen
