"""Calls to metrics-api, which owns organizations and rescoring."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from k12shared.auth.tokens import service_token
from k12shared.http import ServiceClient

log = logging.getLogger("k12.ingest")
RESOLVE_BATCH = 4_000  # items per call: stays well under the services' 2 MiB body limit
RESCORE_BATCH = 500  # metrics-api takes at most 5,000 organizations a call; smaller calls answer sooner


class OrgResolveFailed(Exception):
    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient  # metrics-api (or its database) unavailable: worth trying again


async def resolve_orgs(metrics: ServiceClient, settings, keyring, items: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """Find or create the organizations a file names (parents before children), in order."""
    ids: list[uuid.UUID] = []
    token = service_token(settings, keyring, "ingest")
    for start in range(0, len(items), RESOLVE_BATCH):
        batch = list(items[start : start + RESOLVE_BATCH])
        try:
            response = await metrics.post("/internal/orgs/resolve", token=token, json={"items": batch}, retry=True, timeout=300)
        except httpx.TransportError as exc:
            raise OrgResolveFailed(f"metrics-api unreachable: {exc!r}", transient=True) from exc
        if response.status_code != 200:
            message = f"metrics-api could not resolve organizations ({response.status_code}): {response.text[:500]}"
            raise OrgResolveFailed(message, transient=response.status_code >= 500)
        ids.extend(uuid.UUID(i) for i in response.json()["ids"])
    return ids


async def request_rescore(metrics: ServiceClient, settings, keyring, org_ids: Sequence[uuid.UUID], school_years: Sequence[int]) -> bool:
    """Tell metrics-api which organizations and school years changed, in slices it accepts.

    Never fails the load (it is committed; rescoring can be asked again): an error is logged and
    False returned.
    """
    years = sorted(set(school_years))
    token = service_token(settings, keyring, "ingest")
    ok = True
    for start in range(0, len(org_ids), RESCORE_BATCH):
        body = {"org_ids": [str(o) for o in org_ids[start : start + RESCORE_BATCH]], "school_years": years}
        try:
            response = await metrics.post("/internal/rescore", token=token, json=body, timeout=120)
        except Exception as exc:
            log.warning("rescore request failed", extra={"error": repr(exc), "orgs": len(body["org_ids"])})
            ok = False
            continue
        if response.status_code >= 300:
            log.warning("rescore request not accepted", extra={"status": response.status_code, "orgs": len(body["org_ids"]), "body": response.text[:300]})
            ok = False
    return ok
