"""Idempotency keys and conditional GET through the gateway, over real processes and a real database."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from k12_gateway.edge.idempotency import StoredKey
from k12shared.settings import Settings


def _db_url(platform) -> str:
    return platform.database_url.replace("postgresql+asyncpg://", "postgresql://")


async def _token(api, role: str, district: str | None = None) -> str:
    response = await api.post("/auth/dev-token", json={"role": role} | ({"district": district} if district else {}))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _state(suffix: str) -> dict:
    return {"type": "state", "name": f"Idempotent {suffix}", "state_code": "NE", "state_id": f"NE-{suffix}"}


async def _orgs_with_state_id(api, headers, state_id: str) -> list[dict]:
    response = await api.get("/api/v1/orgs", params={"state_id": state_id}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_same_key_and_body_replays_the_first_response(api):
    headers = {"authorization": f"Bearer {await _token(api, 'platform_admin')}", "idempotency-key": uuid.uuid4().hex}
    body = _state(uuid.uuid4().hex[:8])
    first = await api.post("/api/v1/orgs", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await api.post("/api/v1/orgs", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert [o["id"] for o in await _orgs_with_state_id(api, headers, body["state_id"])] == [first.json()["id"]]


async def test_same_key_with_another_body_is_refused_with_422(api):
    headers = {"authorization": f"Bearer {await _token(api, 'platform_admin')}", "idempotency-key": uuid.uuid4().hex}
    suffix = uuid.uuid4().hex[:8]
    assert (await api.post("/api/v1/orgs", json=_state(suffix), headers=headers)).status_code == 201
    other = _state(suffix + "x")
    refused = await api.post("/api/v1/orgs", json=other, headers=headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/idempotency-key-reused")
    assert await _orgs_with_state_id(api, headers, other["state_id"]) == []


async def test_a_key_still_in_flight_answers_409(api, platform):
    token = await _token(api, "platform_admin")
    key = uuid.uuid4().hex
    # Another gateway replica has claimed this key and is still waiting for the service.
    stored = StoredKey.of("user:demo:platform_admin", key, Settings().idempotency_encryption_key)
    conn = await asyncpg.connect(_db_url(platform))
    try:
        await conn.execute(
            "insert into edge_idempotency_keys (caller, key_hash, fingerprint, state, expires_at) values ($1, $2, 'x', 'in_flight', now() + interval '1 minute')",
            stored.caller,
            stored.key_hash,
        )
    finally:
        await conn.close()
    body = _state(uuid.uuid4().hex[:8])
    response = await api.post("/api/v1/orgs", json=body, headers={"authorization": f"Bearer {token}", "idempotency-key": key})
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/idempotency-key-in-flight")
    assert response.headers["retry-after"] == "1"
    assert await _orgs_with_state_id(api, {"authorization": f"Bearer {token}"}, body["state_id"]) == []


@pytest.fixture(scope="module")
async def district(api) -> dict:
    headers = {"authorization": f"Bearer {await _token(api, 'platform_admin')}"}
    suffix = uuid.uuid4().hex[:8]
    state = await api.post("/api/v1/orgs", json=_state(suffix), headers=headers)
    made = await api.post(
        "/api/v1/orgs",
        json={"type": "district", "name": f"Edge district {suffix}", "state_code": "NE", "state_id": f"ED{suffix}", "parent_id": state.json()["id"]},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return made.json()


async def test_keys_belong_to_their_caller(api, district):
    key = uuid.uuid4().hex
    body = _state(uuid.uuid4().hex[:8])
    admin = await _token(api, "platform_admin")
    assert (await api.post("/api/v1/orgs", json=body, headers={"authorization": f"Bearer {admin}", "idempotency-key": key})).status_code == 201
    # The same key from someone else is a request of their own, never the admin's stored answer.
    district_admin = await _token(api, "district_admin", district["id"])
    other = await api.post("/api/v1/orgs", json=body, headers={"authorization": f"Bearer {district_admin}", "idempotency-key": key})
    assert other.status_code == 403
    assert "idempotent-replayed" not in other.headers


async def test_the_gateways_own_post_honours_the_key_too(api, district, platform):
    district_admin = {"authorization": f"Bearer {await _token(api, 'district_admin', district['id'])}", "idempotency-key": uuid.uuid4().hex}
    request = {"name": "Retried partner", "scopes": ["metrics:read"]}
    first = await api.post("/api/v1/api-clients", json=request, headers=district_admin)
    again = await api.post("/api/v1/api-clients", json=request, headers=district_admin)
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["client_id"] == first.json()["client_id"]
    listed = await api.get("/api/v1/api-clients", headers={"authorization": district_admin["authorization"]})
    assert [c["name"] for c in listed.json()["items"]] == ["Retried partner"]
    # The stored answer holds a shown-once secret: neither it nor the key is readable in the table.
    conn = await asyncpg.connect(_db_url(platform))
    try:
        rows = await conn.fetch("select key_hash, response_body from edge_idempotency_keys")
    finally:
        await conn.close()
    assert rows and not any(district_admin["idempotency-key"] in r["key_hash"] for r in rows)
    assert not any(first.json()["client_secret"].encode() in (r["response_body"] or b"") for r in rows)


async def test_bad_keys_are_refused(api):
    headers = {"authorization": f"Bearer {await _token(api, 'platform_admin')}", "idempotency-key": "k" * 256}
    response = await api.post("/api/v1/orgs", json=_state(uuid.uuid4().hex[:8]), headers=headers)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/bad-idempotency-key")


async def test_conditional_get_answers_304_until_the_data_changes(api):
    headers = {"authorization": f"Bearer {await _token(api, 'platform_admin')}"}
    suffix = uuid.uuid4().hex[:8]
    state = await api.post("/api/v1/orgs", json=_state(suffix), headers=headers)
    params = {"state_id": f"NE-{suffix}"}
    first = await api.get("/api/v1/orgs", params=params, headers=headers)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('"')
    assert "private" in first.headers["cache-control"]

    unchanged = await api.get("/api/v1/orgs", params=params, headers={**headers, "if-none-match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    weak = await api.get("/api/v1/orgs", params=params, headers={**headers, "if-none-match": f'"other", W/{etag}'})
    assert weak.status_code == 304

    renamed = await api.patch(f"/api/v1/orgs/{state.json()['id']}", json={"name": f"Renamed {suffix}"}, headers=headers)
    assert renamed.status_code == 200, renamed.text
    changed = await api.get("/api/v1/orgs", params=params, headers={**headers, "if-none-match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["items"][0]["name"] == f"Renamed {suffix}"


async def test_errors_carry_no_etag(api):
    response = await api.get(f"/api/v1/orgs/{uuid.uuid4()}", headers={"authorization": f"Bearer {await _token(api, 'platform_admin')}"})
    assert response.status_code == 404
    assert "etag" not in response.headers
