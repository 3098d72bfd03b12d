"""One OpenAPI document for the whole public surface: the gateway's own routes plus each service's."""

from __future__ import annotations

import copy
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
        base = copy.deepcopy(app.openapi())
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
        describe_edge(doc, tags)
        return doc, complete


# --- What the edge adds to every operation: tags, rate limits, idempotency keys, conditional GET ---

TAG_DESCRIPTIONS = {
    "auth": "Tokens (OAuth2 client credentials) and the keys that sign them.",
    "api clients": "Partner integrations of a district: register, list, rotate and revoke client credentials.",
    "screens": "The SPA-facing API: one call per screen, composed from the services; a missing part is named, not fatal.",
    "health": "Liveness and readiness probes.",
}
RATE_LIMITED_PREFIXES = ("/api/v1/", "/app/v1/", "/webhooks/")
_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
_RATE_HEADERS = {
    "RateLimit-Limit": {"description": "Requests allowed in the current one-minute window", "schema": {"type": "integer"}},
    "RateLimit-Remaining": {"description": "Requests left in the current window", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "Seconds until the window resets", "schema": {"type": "integer"}},
}
IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same key with the same request replays the first response (`Idempotent-Replayed: true`); "
        "with a different request it answers 422; while the first is still running, 409. Keys are per caller and kept 24 hours."
    ),
    "schema": {"type": "string", "maxLength": 255},
    "example": "5f0c8a4e-1b7d-4a86-9f51-0d5c2f3b9e11",
}
IF_NONE_MATCH_PARAMETER = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An `ETag` from an earlier answer: 304 Not Modified when the representation is unchanged.",
    "schema": {"type": "string"},
}


def _problem(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    if headers:
        response["headers"] = headers
    return response


def describe_edge(doc: dict[str, Any], tags: dict[str, dict]) -> None:
    """Tag every operation, and document the edge's headers and answers where the gateway enforces them."""
    for path, item in doc["paths"].items():
        service = owner_of(path) or "gateway"
        for method, operation in item.items():
            if method not in _HTTP_METHODS or not isinstance(operation, dict):
                continue
            operation.setdefault("tags", [service])
            _describe_errors(operation)
            if path.startswith(RATE_LIMITED_PREFIXES):
                _describe_limited(operation, method)
    used = {tag for item in doc["paths"].values() for op in item.values() if isinstance(op, dict) for tag in op.get("tags", [])}
    for name in sorted(used):
        tag = tags.setdefault(name, {"name": name})
        tag.setdefault("description", TAG_DESCRIPTIONS.get(name, f"Operations of the {name} service." if name in ROUTE_PREFIXES else name.capitalize() + "."))
    doc["tags"] = sorted(tags.values(), key=lambda t: t["name"])


def _describe_errors(operation: dict) -> None:
    """Every error of every operation is problem+json (FastAPI documents its 422 as plain JSON)."""
    responses = operation.setdefault("responses", {})
    for status, response in responses.items():
        if str(status)[0] in "45" and "application/json" in response.get("content", {}):
            response["content"] = _problem("")["content"]
    responses.setdefault("4XX", _problem("Refused: see `type`, `detail` and any `errors` of the problem"))
    responses.setdefault("5XX", _problem("The gateway could not reach the service that owns the operation (502, 503, 504)"))


def _describe_limited(operation: dict, method: str) -> None:
    responses = operation.setdefault("responses", {})
    too_many = responses.setdefault("429", _problem("Too many requests: wait `Retry-After` seconds"))
    too_many.setdefault("headers", {}).update({"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}, **_RATE_HEADERS})
    parameters = operation.setdefault("parameters", [])
    names = {p.get("name", "").lower() for p in parameters if isinstance(p, dict)}
    if method == "post" and "idempotency-key" not in names:
        parameters.append(IDEMPOTENCY_KEY_PARAMETER)
        responses.setdefault("409", _problem("A request with this Idempotency-Key is still in flight"))
        responses.setdefault("422", _problem("Invalid request, or an Idempotency-Key reused with a different request"))
    if method == "get" and "if-none-match" not in names:
        parameters.append(IF_NONE_MATCH_PARAMETER)
        responses.setdefault("304", {"description": "Not modified: the `ETag` given in `If-None-Match` still matches"})
