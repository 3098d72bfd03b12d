"""The merged OpenAPI document is fit for client generation: unique operationIds, tags, documented edge behaviour."""

from __future__ import annotations

import httpx
import pytest

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
GATEWAY_OWN = {"issueToken", "getJwks", "createApiClient", "listApiClients", "getApiClient", "rotateApiClientSecret", "revokeApiClient", "getDashboard",
               "getMyActions", "getMeetingRoom", "getSignInOptions"}


@pytest.fixture(scope="module")
async def document(platform) -> dict:
    async with httpx.AsyncClient(base_url=platform.url(), timeout=30) as api:
        response = await api.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert "x-missing-services" not in doc, doc.get("x-missing-services")
    return doc


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_has_a_unique_operation_id_and_a_declared_tag(document):
    operations = list(_operations(document))
    assert len(operations) > 10
    ids = [op.get("operationId") for _, _, op in operations]
    missing = [f"{m.upper()} {p}" for p, m, op in operations if not op.get("operationId")]
    assert not missing, missing
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, duplicates
    untagged = [f"{m.upper()} {p}" for p, m, op in operations if not op.get("tags")]
    assert not untagged, untagged
    declared = {t["name"]: t for t in document["tags"]}
    used = {tag for _, _, op in operations for tag in op["tags"]}
    assert used <= set(declared), used - set(declared)
    assert all(declared[name].get("description") for name in used)


def test_the_gateways_own_operations_are_described(document):
    ours = {op["operationId"]: op for _, _, op in _operations(document) if op.get("operationId") in GATEWAY_OWN}
    assert set(ours) == GATEWAY_OWN
    for operation_id, operation in ours.items():
        assert operation.get("summary") and operation.get("description"), operation_id
    assert document["paths"]["/.well-known/jwks.json"]["get"]["security"] == []
    assert {"HTTPBearer": []} not in document["paths"]["/auth/token"]["post"]["security"]


def test_edge_behaviour_is_documented_where_it_applies(document):
    for path, method, operation in _operations(document):
        if not path.startswith(("/api/v1/", "/app/v1/", "/webhooks/")):
            continue
        assert "429" in operation["responses"], f"{method} {path}"
        names = {p["name"] for p in operation.get("parameters", [])}
        if method == "post":
            assert "Idempotency-Key" in names, path
        if method == "get":
            assert "If-None-Match" in names and "304" in operation["responses"], path
    assert document["paths"]["/api/v1/api-clients"]["post"]["responses"]["429"]["headers"]["Retry-After"]


# What the reference web app and the typed TypeScript client are written against: renaming one breaks them.
CLIENT_CONTRACT = {"getDashboard", "getMyActions", "getMeetingRoom", "getSignInOptions", "issueDevToken", "createAction", "listActions", "getOrg", "getScore"}


def test_operation_ids_clients_depend_on_are_stable_and_every_operation_has_a_summary(document):
    operations = list(_operations(document))
    assert CLIENT_CONTRACT <= {op.get("operationId") for _, _, op in operations}
    unsummarized = [f"{m.upper()} {p}" for p, m, op in operations if not op.get("summary")]
    assert not unsummarized, unsummarized


def test_screens_answer_typed_documents_with_examples(document):
    schemas = document["components"]["schemas"]
    for path in ("/app/v1/dashboard", "/app/v1/me/actions", "/app/v1/meetings/{meeting_id}/room"):
        ref = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        schema = schemas[ref.rsplit("/", 1)[-1]]
        assert "missing" in schema["required"], path
    missing_part = schemas["MissingPart"]["properties"]
    assert missing_part["reason"]["examples"] and missing_part["reason"]["description"]
    assert schemas["ScoreSummary"]["properties"]["classification"]
