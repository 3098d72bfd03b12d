"""Compose a screen from several services concurrently; a part that fails is reported, not fatal."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from k12shared.auth import Principal
from k12shared.http import ServiceClient

PART_TIMEOUT_S = 3.0
# Upstream reads in flight at once from this gateway's screens. Beyond the pool's size httpcore queues
# requests itself, and its queue costs CPU per waiting request; an asyncio queue costs nothing.
MAX_PARTS_IN_FLIGHT = 32
_in_flight: asyncio.Semaphore | None = None


def _slots() -> asyncio.Semaphore:
    global _in_flight
    if _in_flight is None:
        _in_flight = asyncio.Semaphore(MAX_PARTS_IN_FLIGHT)
    return _in_flight

Fetched = tuple[Any, str | None]  # (data, reason it is missing)


@dataclass(frozen=True)
class Part:
    """One read of one service. ``shape`` turns the answer into what the screen shows; ``then`` may
    read more (e.g. each goal's progress) once the answer is in, still concurrently with the other parts."""

    name: str
    service: str
    path: str
    params: dict[str, Any] | list[tuple[str, Any]] = field(default_factory=dict)
    shape: Callable[[Any], Any] | None = None
    then: Callable[[Any], Awaitable[Any]] | None = None


async def fetch(client: ServiceClient, service: str, path: str, principal: Principal, params: Any = None) -> Fetched:
    try:
        async with _slots():
            response = await client.get(path, token=principal.token, params=params, timeout=PART_TIMEOUT_S, retry=False)
    except httpx.TimeoutException:
        return None, f"{service} timed out"
    except httpx.HTTPError:
        return None, f"{service} unavailable"
    if response.status_code >= 400:
        return None, f"{service} answered {response.status_code}"
    return response.json(), None


async def _part(services: dict[str, ServiceClient], principal: Principal, part: Part) -> tuple[str, Any, str | None]:
    data, problem = await fetch(services[part.service], part.service, part.path, principal, part.params)
    if problem is None:
        if part.then is not None:
            data = await part.then(data)
        if part.shape is not None:
            data = part.shape(data)
    return part.name, data, problem


async def compose(services: dict[str, ServiceClient], principal: Principal, parts: list[Part]) -> dict[str, Any]:
    """``{part name: data or None, ..., "missing": [{"part", "reason"}]}``."""
    results = await asyncio.gather(*(_part(services, principal, p) for p in parts))
    screen: dict[str, Any] = {}
    missing = []
    for name, data, problem in results:
        screen[name] = data
        if problem:
            missing.append({"part": name, "reason": problem})
    screen["missing"] = missing
    return screen


def settled(screen: dict[str, Any]) -> bool:
    """Whether every part is as the services will give it again: present, or refused for good (a 4xx such as
    "no score yet"), not lost to a timeout, an unreachable service or a 5xx, which are worth asking again."""
    return all(_LASTING_REFUSAL.search(m["reason"]) for m in screen["missing"])


_LASTING_REFUSAL = re.compile(r" answered 4\d\d$")
