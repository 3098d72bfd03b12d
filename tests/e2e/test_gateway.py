"""The gateway in front of real service processes: auth, routing, merged OpenAPI, upstream failures."""

from __future__ import annotations



async def _dev_token(api, role: str, district: str | None = None) -> str:
    body = {"role": role} | ({"district": district} if district else {})
    response = await api.post("/auth/dev-token", json=body)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def test_health_and_readiness(api):
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert {"database", "metrics", "routines", "ingest"} <= set(ready.json())


async def test_platform_admin_creates_orgs_and_district_admin_reads_them(api):
    admin = await _dev_token(api, "platform_admin")
    headers = {"authorization": f"Bearer {admin}", "x-request-id": "e2e-request-1"}
    state = await api.post("/api/v1/orgs", json={"type": "state", "name": "Missouri", "state_code": "MO", "state_id": "MO-e2e"}, headers=headers)
    assert state.status_code == 201, state.text
    assert state.headers["x-request-id"] == "e2e-request-1"
    district = await api.post(
        "/api/v1/orgs",
        json={"type": "district", "name": "Hazelwood", "state_code": "MO", "state_id": "096088", "parent_id": state.json()["id"]},
        headers=headers,
    )
    assert district.status_code == 201, district.text

    token = await _dev_token(api, "district_admin", "096088")
    found = await api.get("/api/v1/orgs", params={"state_id": "096088"}, headers={"authorization": f"Bearer {token}"})
    assert found.status_code == 200
    assert [o["name"] for o in found.json()["items"]] == ["Hazelwood"]

    refused = await api.post("/api/v1/orgs", json={"type": "state", "name": "X", "state_code": "XX", "state_id": "XX"}, headers={"authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_forged_token_is_refused_at_the_edge(api):
    response = await api.get("/api/v1/orgs", headers={"authorization": "Bearer abc.def.ghi"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_validation_error_names_the_field(api):
    admin = await _dev_token(api, "platform_admin")
    response = await api.post("/api/v1/orgs", json={"type": "planet", "state_code": "MO"}, headers={"authorization": f"Bearer {admin}"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"body.type", "body.name"} <= fields


async def test_oversized_body_is_refused(api):
    admin = await _dev_token(api, "platform_admin")
    response = await api.post(
        "/api/v1/orgs", content=b"{" + b" " * (3 * 1024 * 1024) + b"}", headers={"authorization": f"Bearer {admin}", "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["status"] == 413


async def test_merged_openapi_covers_every_service(api):
    doc = (await api.get("/openapi.json")).json()
    paths = doc["paths"]
    assert "/api/v1/orgs" in paths and "/auth/token" in paths and "/api/v1/api-clients" in paths
    assert "x-missing-services" not in doc
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values() if isinstance(op, dict) and "operationId" in op]
    assert len(operation_ids) == len(set(operation_ids))
    assert (await api.get("/docs")).status_code == 200
    jwks = (await api.get("/.well-known/jwks.json")).json()
    assert jwks["keys"] and all(k["alg"] == "RS256" and k["kid"] for k in jwks["keys"])


async def test_client_credentials_flow(api):
    admin = await _dev_token(api, "district_admin", "096088")
    created = await api.post("/api/v1/api-clients", json={"name": "Partner", "scopes": ["metrics:read"]}, headers={"authorization": f"Bearer {admin}"})
    assert created.status_code == 201, created.text
    client = created.json()
    token = await api.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]})
    assert token.status_code == 200, token.text
    access = token.json()["access_token"]
    assert (await api.get("/api/v1/orgs", headers={"authorization": f"Bearer {access}"})).status_code == 200
    wrong = await api.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": "nope"})
    assert wrong.status_code == 401
    # Rotation: the old secret works during the grace period, the new one too.
    rotated = await api.post(f"/api/v1/api-clients/{client['id']}/rotate", json={"grace_period_s": 60}, headers={"authorization": f"Bearer {admin}"})
    new_secret = rotated.json()["client_secret"]
    for secret in (client["client_secret"], new_secret):
        ok = await api.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": secret})
        assert ok.status_code == 200
    assert (await api.delete(f"/api/v1/api-clients/{client['id']}", headers={"authorization": f"Bearer {admin}"})).status_code == 204
    revoked = await api.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": new_secret})
    assert revoked.status_code == 401


async def test_one_upstream_stopped(api, platform):
    admin = await _dev_token(api, "platform_admin")
    platform.stop("metrics")
    try:
        response = await api.get("/api/v1/orgs", headers={"authorization": f"Bearer {admin}"})
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["upstream"] == "metrics"
        ready = await api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["metrics"]["status"] == "unreachable"
    finally:
        platform.start("metrics")
        platform.wait_healthy("metrics")
    assert (await api.get("/api/v1/orgs", headers={"authorization": f"Bearer {admin}"})).status_code == 200
