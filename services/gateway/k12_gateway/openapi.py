"""One OpenAPI document for the whole public surface: the gateway's own routes plus each service's."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI

from k12_gateway.proxy.routes import ROUTE_PREFIXES, owner_of

log = logging.getLogger("k12.gateway.openapi")
CACHE_TTL_S = 60
PUBLIC_PREFIXES = ("/api/v1/", "/webhooks/", "/app/v1/", "/auth/", "/.well-known/")

PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
    "required": ["type", "title", "status"],
}


class MergedOpenAPI:
    def __init__(self) -> None:
        self._cached: dict[str, Any] | None = None
        self._at = 0.0

    async def document(self, app: FastAPI) -> dict[str, Any]:
        if self._cached is not None and time.monotonic() - self._at < CACHE_TTL_S:
            return self._cached
        doc, complete = await self._build(app)
        if complete:
            self._cached, self._at = doc, time.monotonic()
        return doc

    async def _build(self, app: FastAPI) -> tuple[dict[str, Any], bool]:
        base = app.openapi()
        doc: dict[str, Any] = {
            **base,
            "paths": {p: v for p, v in base.get("paths", {}).items() if p.startswith(PUBLIC_PREFIXES)},
            "components": {**base.get("components", {})},
        }
        schemas = doc["components"].setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        tags = {t["name"]: t for t in base.get("tags", []) or []}
        complete = True
        for service in ROUTE_PREFIXES:
            upstream = app.state.services[service]
            try:
                response = await upstream.get("/openapi.json", token=None, retry=False)
                response.raise_for_status()
                part = response.json()
            except Exception as exc:  # a service that is down leaves its part out, said in the document
                log.warning("could not fetch upstream OpenAPI", extra={"upstream": service, "error": type(exc).__name__})
                doc.setdefault("x-missing-services", []).append(service)
                complete = False
                continue
            for path, item in part.get("paths", {}).items():
                if owner_of(path) == service:
                    doc["paths"][path] = item
            for name, schema in part.get("components", {}).get("schemas", {}).items():
                schemas.setdefault(name, schema)
            for tag in part.get("tags", []) or []:
                tags.setdefault(tag["name"], tag)
        doc["components"].setdefault("securitySchemes", {})["HTTPBearer"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        doc["security"] = [{"HTTPBearer": []}]
        if tags:
            doc["tags"] = list(tags.values())
        return doc, complete
