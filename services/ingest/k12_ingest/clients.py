"""Calls to metrics-api, which owns organizations and rescoring."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from k12shared.auth.tokens import service_token
from k12shared.http import ServiceClient

log = logging.getLogger("k12.ingest")
RESOLVE_BATCH = 4_000  # items per call: stays well under the services' 2 MiB body limit


class OrgResolveFailed(Exception):
    pass


async def resolve_orgs(metrics: ServiceClient, settings, keyring, items: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """Find or create the organizations a file names (parents before children), in order."""
    ids: list[uuid.UUID] = []
    token = service_token(settings, keyring, "ingest")
    for start in range(0, len(items), RESOLVE_BATCH):
        batch = list(items[start : start + RESOLVE_BATCH])
        response = await metrics.post("/internal/orgs/resolve", token=token, json={"items": batch}, retry=True, timeout=300)
        if response.status_code != 200:
            raise OrgResolveFailed(f"metrics-api could not resolve organizations ({response.status_code}): {response.text[:500]}")
        ids.extend(uuid.UUID(i) for i in response.json()["ids"])
    return ids


async def request_rescore(metrics: ServiceClient, settings, keyring, org_ids: Sequence[uuid.UUID], school_years: Sequence[int]) -> None:
    """Tell metrics-api what changed. Never fails the load: a missing endpoint or an error is logged."""
    if not org_ids:
        return
    body = {"org_ids": [str(o) for o in org_ids], "school_years": sorted(set(school_years))}
    try:
        response = await metrics.post("/internal/rescore", token=service_token(settings, keyring, "ingest"), json=body, timeout=30)
    except Exception as exc:  # the load is committed; rescoring can be asked again later
        log.warning("rescore request failed", extra={"error": repr(exc), "orgs": len(org_ids)})
        return
    if response.status_code >= 300:
        log.warning("rescore request not accepted", extra={"status": response.status_code, "orgs": len(org_ids)})
