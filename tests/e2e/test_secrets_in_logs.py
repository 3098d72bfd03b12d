"""Secrets and tokens never reach a log line.

A full run of everything that issues or presents a credential — development sign-in, API client
secrets (created, rotated, exchanged as form fields and as HTTP Basic, and wrong ones), bearer tokens
(valid and forged), SIS webhook signing secrets and signed deliveries, outbound webhook secrets, the
secret calendar URL — then every log line of every process is searched for each of them.
"""

from __future__ import annotations

import base64
import json
import time
import uuid

from standardwebhooks.webhooks import Webhook


def _fragments(secret: str) -> set[str]:
    """The secret and its tail (a log may cut a value short, but never to under 20 characters)."""
    return {secret, secret[-20:]} if len(secret) >= 20 else {secret}


async def _token(api, role: str, district: str | None = None) -> str:
    response = await api.post("/auth/dev-token", json={"role": role} | ({"district": district} if district else {}))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def test_no_credential_issued_or_presented_appears_in_any_log(api, platform, settings):
    secrets: set[str] = {settings.pseudonym_key, settings.idempotency_encryption_key}
    platform_admin = await _token(api, "platform_admin")
    admin_h = {"authorization": f"Bearer {platform_admin}"}
    found = (await api.get("/api/v1/orgs", params={"state_id": "LOG-1", "type": "district"}, headers=admin_h)).json()["items"]
    if not found:
        state = await api.post("/api/v1/orgs", json={"type": "state", "name": "Logs", "state_code": "LG", "state_id": "LG"}, headers=admin_h)
        found = [(await api.post("/api/v1/orgs", json={"type": "district", "name": "Log district", "state_code": "LG", "state_id": "LOG-1", "parent_id": state.json()["id"]}, headers=admin_h)).json()]
    district = found[0]["id"]
    district_admin = await _token(api, "district_admin", "LOG-1")
    secrets |= {platform_admin, district_admin}
    headers = {"authorization": f"Bearer {district_admin}"}

    # API client: created, exchanged (form and Basic), rotated, a wrong secret tried.
    client = (await api.post("/api/v1/api-clients", json={"name": "Log partner", "scopes": ["metrics:read"]}, headers=headers)).json()
    secrets.add(client["client_secret"])
    form = await api.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]})
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    via_basic = await api.post("/auth/token", data={"grant_type": "client_credentials"}, headers={"authorization": f"Basic {basic}"})
    assert form.status_code == via_basic.status_code == 200
    secrets |= {form.json()["access_token"], via_basic.json()["access_token"]}
    wrong = "k12s_" + uuid.uuid4().hex + "wrongwrongwrong"
    secrets.add(wrong)
    assert (await api.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": wrong})).status_code == 401
    rotated = (await api.post(f"/api/v1/api-clients/{client['id']}/rotate", json={"grace_period_s": 0}, headers=headers)).json()
    secrets.add(rotated["client_secret"])
    # Idempotent creation: the replayed answer carries the secret again.
    replay_headers = {**headers, "idempotency-key": f"log-{uuid.uuid4().hex}"}
    for _ in range(2):
        again = await api.post("/api/v1/api-clients", json={"name": "Log partner 2", "scopes": ["metrics:read"]}, headers=replay_headers)
        secrets.add(again.json()["client_secret"])

    # Bearer tokens presented in bad shapes: forged, and in a query string nobody should use.
    forged = platform_admin[:-12] + "AAAAAAAAAAAA"
    secrets.add(forged)
    assert (await api.get("/api/v1/plans", headers={"authorization": f"Bearer {forged}"})).status_code == 401
    await api.get("/api/v1/plans", params={"access_token": district_admin})

    # SIS webhook source: secret shown at creation and rotation; a signed delivery and a badly signed one.
    source = await api.post("/api/v1/ingest/sis-sources", json={"name": "Log SIS", "vendor": "PowerSchool", "district_id": district}, headers=headers)
    assert source.status_code == 201, source.text
    source = source.json()
    secrets.add(source["secret"])
    body = json.dumps({"resource": "schools", "action": "upsert", "data": []}).encode()
    msg_id, now = f"msg_{uuid.uuid4().hex}", int(time.time())
    signature = Webhook(source["secret"]).sign(msg_id, __import__("datetime").datetime.fromtimestamp(now, tz=__import__("datetime").UTC), body.decode())
    secrets.add(signature.split(",", 1)[1])
    signed = {"webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": signature, "content-type": "application/json"}
    delivered = await api.post(f"/webhooks/sis/{source['id']}", content=body, headers=signed)
    assert delivered.status_code < 500, delivered.text
    await api.post(f"/webhooks/sis/{source['id']}", content=body, headers={**signed, "webhook-id": "msg_other", "webhook-signature": "v1,Zm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2Vk"})
    rotated_source = (await api.post(f"/api/v1/ingest/sis-sources/{source['id']}/rotate-secret", headers=headers)).json()
    secrets.add(rotated_source["secret"])

    # Outbound webhook subscription secret, and the secret calendar URL.
    subscription = await api.post("/api/v1/webhook-subscriptions", json={"url": "http://127.0.0.1:9/hooks", "events": ["action.created"]}, headers=headers)
    assert subscription.status_code == 201, subscription.text
    secrets.add(subscription.json()["secret"])
    feed = await api.post("/api/v1/calendars/feed", headers=headers)
    assert feed.status_code == 201, feed.text
    feed_url = feed.json()["url"]
    secrets.add(feed_url.rsplit("/", 1)[1].removesuffix(".ics"))
    assert (await api.get(feed_url)).status_code == 200

    logs = platform.logs()
    assert '"msg":"request"' in logs, "the processes log requests: the search below must have something to search"
    leaked = sorted({fragment for secret in secrets for fragment in _fragments(secret) if fragment in logs})
    assert not leaked, f"{len(leaked)} secrets or tokens found in the logs: {[f[:6] + '…' for f in leaked]}"
