"""Sign-in with a district's identity provider, end to end: a district admin invites people, they sign in at
the provider (authorization code with PKCE), and the web app's ID token becomes a platform token carrying the
roles of their memberships. The provider is a stand-in: a real local HTTP server this test starts."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

from k12shared.auth.keys import public_jwk
from k12shared.settings import REPO_ROOT
from k12shared.testing import PRODUCTION_SECRETS

CLIENT_ID = "k12perform-web"
PROBLEM = "application/problem+json"


class IdentityProvider:
    """Discovery, JWKS, /authorize (signs in whoever ``person`` names, at once) and /token (checks PKCE)."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = public_jwk(self.key.public_key())
        self.person: dict = {}
        self.codes: dict[str, dict] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def id_token(self, *, nonce: str, audience: str = CLIENT_ID, key=None, expires_in: int = 300, **claims) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": audience, "iat": now, "exp": now + expires_in, "nonce": nonce, **self.person, **claims}
        pem = (key or self.key).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        return jwt.encode(body, pem, algorithm="RS256", headers={"kid": self.jwk["kid"]})

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("access-control-allow-origin", "*")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    return self._json(200, {"issuer": provider.issuer, "authorization_endpoint": provider.issuer + "/authorize",
                                            "token_endpoint": provider.issuer + "/token", "jwks_uri": provider.issuer + "/jwks"})
                if url.path == "/jwks":
                    return self._json(200, {"keys": [provider.jwk]})
                if url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = query
                    self.send_response(302)
                    self.send_header("location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")
                    self.end_headers()
                    return None
                return self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["content-length"])).decode()).items()}
                asked = provider.codes.pop(form.get("code", ""), None)
                challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
                if asked is None or asked["code_challenge"] != challenge or asked["client_id"] != form.get("client_id"):
                    return self._json(400, {"error": "invalid_grant"})
                return self._json(200, {"id_token": provider.id_token(nonce=asked["nonce"]), "access_token": "opaque", "token_type": "Bearer"})

        return Handler


@pytest.fixture(scope="module")
def provider():
    idp = IdentityProvider()
    yield idp
    idp.server.shutdown()


@pytest.fixture(scope="module")
def district_gateway(platform, provider, tmp_path_factory):
    """A production gateway on the platform's services, signing people in at the stand-in provider."""
    settings = {f"K12_{name.upper()}": value for name, value in PRODUCTION_SECRETS.items()}
    settings |= {"K12_OIDC_ISSUER": provider.issuer, "K12_OIDC_CLIENT_ID": CLIENT_ID, "K12_OIDC_JWKS_URL": provider.issuer + "/jwks"}
    with platform.extra_gateway(tmp_path_factory.mktemp("oidc-gateway"), K12_ENV="production", **settings) as url:
        yield url


async def bearer(api, role: str, district: str) -> dict:
    token = (await api.post("/auth/dev-token", json={"role": role, "district": district})).json()["access_token"]
    return {"authorization": f"Bearer {token}"}


async def new_district(api) -> dict:
    admin = {"authorization": f"Bearer {(await api.post('/auth/dev-token', json={'role': 'platform_admin'})).json()['access_token']}"}
    state = (await api.get("/api/v1/orgs", params={"state_id": "MO", "type": "state"}, headers=admin)).json()["items"]
    if not state:
        state = [(await api.post("/api/v1/orgs", json={"type": "state", "name": "Missouri", "state_code": "MO", "state_id": "MO"}, headers=admin)).json()]
    code = f"9{uuid.uuid4().int % 10**5:05d}"
    district = (await api.post("/api/v1/orgs", json={"type": "district", "name": f"Sign-in {code}", "state_code": "MO", "state_id": code, "parent_id": state[0]["id"]}, headers=admin)).json()
    school = (await api.post("/api/v1/orgs", json={"type": "school", "name": f"School {code}", "state_code": "MO", "state_id": f"{code}-1", "parent_id": district["id"]}, headers=admin)).json()
    return district | {"school_id": school["id"]}


def sign_in(gateway: str, provider: IdentityProvider, **person) -> httpx.Response:
    """What the web app does: authorize with PKCE at the provider, the code for an ID token, the ID token for ours."""
    provider.person = person
    idp = httpx.get(gateway + "/app/v1/sign-in-options").json()["identity_provider"]
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(24)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {"response_type": "code", "client_id": idp["client_id"], "redirect_uri": gateway + "/", "scope": idp["scope"], "state": "s" * 20,
             "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
    back = httpx.get(idp["authorization_endpoint"], params=query)
    code = parse_qs(urlparse(back.headers["location"]).query)["code"][0]
    tokens = httpx.post(idp["token_endpoint"], data={"grant_type": "authorization_code", "code": code, "client_id": idp["client_id"], "code_verifier": verifier}).json()
    return httpx.post(gateway + "/auth/oidc/token", json={"id_token": tokens["id_token"], "nonce": nonce})


def token_claims(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return jwt.get_unverified_claims(response.json()["access_token"])


async def test_an_invited_leader_signs_in_with_the_provider_and_gets_the_role_the_district_gave(api, provider, district_gateway):
    district = await new_district(api)
    admin = await bearer(api, "district_admin", district["id"])
    email = f"ada.{uuid.uuid4().hex[:6]}@district.example.org"
    invited = await api.post("/api/v1/users", json={"email": email.upper(), "display_name": "Ada Moreno", "role": "leader", "school_ids": [district["school_id"]]}, headers=admin)
    assert invited.status_code == 201, invited.text
    assert (invited.json()["email"], invited.json()["signed_in"]) == (email, False)

    sub = uuid.uuid4().hex
    claims = token_claims(sign_in(district_gateway, provider, sub=sub, email=email, email_verified=True, roles=["platform_admin"]))
    assert (claims["roles"], claims["districts"], claims["schools"], claims["name"]) == (["leader"], [district["id"]], [district["school_id"]], "Ada Moreno")
    assert claims["sub"] == f"oidc:{sub}" and claims["iss"] != provider.issuer  # the platform's own token; the provider's roles claim is ignored
    listed = (await api.get("/api/v1/users", headers=admin)).json()["items"]
    assert [u["signed_in"] for u in listed if u["email"] == email] == [True]

    # Found by the provider's subject from now on, even with another email there.
    again = token_claims(sign_in(district_gateway, provider, sub=sub, email="renamed@district.example.org", email_verified=True))
    assert again["roles"] == ["leader"]
    leader = {"authorization": f"Bearer {sign_in(district_gateway, provider, sub=sub, email=email, email_verified=True).json()['access_token']}"}
    dashboard = await api.get("/app/v1/dashboard", headers=leader)
    assert dashboard.status_code == 200 and dashboard.json()["district"]["id"] == district["id"]
    assert (await api.post("/api/v1/users", json={"email": "x@y.org", "display_name": "X", "role": "staff"}, headers=leader)).status_code == 403

    # Taken out of the district: no more sign-in.
    user_id = invited.json()["id"]
    assert (await api.delete(f"/api/v1/users/{user_id}", headers=admin)).status_code == 204
    refused = sign_in(district_gateway, provider, sub=sub, email=email, email_verified=True)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(PROBLEM)


async def test_nobody_signs_in_without_an_invitation_a_verified_email_and_a_valid_id_token(api, provider, district_gateway):
    district = await new_district(api)
    admin = await bearer(api, "district_admin", district["id"])
    email = f"sam.{uuid.uuid4().hex[:6]}@district.example.org"
    assert (await api.post("/api/v1/users", json={"email": email, "display_name": "Sam", "role": "staff"}, headers=admin)).status_code == 201

    assert sign_in(district_gateway, provider, sub=uuid.uuid4().hex, email="stranger@else.org", email_verified=True).status_code == 403
    assert sign_in(district_gateway, provider, sub=uuid.uuid4().hex, email=email, email_verified=False).status_code == 403

    provider.person = {"sub": uuid.uuid4().hex, "email": email, "email_verified": True}
    nonce = secrets.token_urlsafe(24)
    forged = {
        "another client's token": provider.id_token(nonce=nonce, audience="someone-else"),
        "an expired token": provider.id_token(nonce=nonce, expires_in=-120),
        "a token signed with another key": provider.id_token(nonce=nonce, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "a token without a subject": provider.id_token(nonce=nonce, sub=None),
    }
    for what, id_token in forged.items():
        response = httpx.post(district_gateway + "/auth/oidc/token", json={"id_token": id_token, "nonce": nonce})
        assert response.status_code == 401 and response.headers["content-type"].startswith(PROBLEM), (what, response.text)
    replayed = httpx.post(district_gateway + "/auth/oidc/token", json={"id_token": provider.id_token(nonce=nonce), "nonce": secrets.token_urlsafe(24)})
    assert replayed.status_code == 401 and "nonce" in replayed.json()["detail"]
    undeclared = await api.post("/auth/oidc/token", json={"id_token": provider.id_token(nonce=nonce), "nonce": nonce})
    assert undeclared.status_code == 401  # the platform's development gateway names no provider


async def test_a_district_manages_only_its_own_people_and_keeps_an_admin(api):
    district, other = await new_district(api), await new_district(api)
    admin = await bearer(api, "district_admin", district["id"])
    me = next(u for u in (await api.get("/api/v1/users", headers=admin)).json()["items"] if u["role"] == "district_admin")
    assert (await api.delete(f"/api/v1/users/{me['id']}", headers=admin)).status_code == 409  # the last district admin
    assert (await api.patch(f"/api/v1/users/{me['id']}", json={"role": "staff"}, headers=admin)).status_code == 409

    created = (await api.post("/api/v1/users", json={"email": f"lee.{uuid.uuid4().hex[:6]}@d.org", "display_name": "Lee", "role": "staff"}, headers=admin)).json()
    again = await api.post("/api/v1/users", json={"email": created["email"], "display_name": "Lee", "role": "staff"}, headers=admin)
    assert again.status_code == 409
    foreign_school = await api.patch(f"/api/v1/users/{created['id']}", json={"role": "leader", "school_ids": [other["school_id"]]}, headers=admin)
    assert foreign_school.status_code == 422 and foreign_school.json()["field"] == "school_ids"
    promoted = await api.patch(f"/api/v1/users/{created['id']}", json={"role": "district_admin"}, headers=admin)
    assert promoted.status_code == 200 and promoted.json()["role"] == "district_admin"

    stranger = await bearer(api, "district_admin", other["id"])
    assert (await api.get(f"/api/v1/users/{created['id']}", headers=stranger)).status_code == 404
    assert (await api.delete(f"/api/v1/users/{created['id']}", headers=stranger)).status_code == 404
    assert created["email"] not in (await api.get("/api/v1/users", headers=stranger)).text
    staff = await bearer(api, "staff", district["id"])
    assert (await api.get("/api/v1/users", headers=staff)).status_code == 403
    entries = (await api.get("/api/v1/audit", params={"resource": "user"}, headers=admin)).json()["items"]
    assert {("create", created["id"]), ("update", created["id"])} <= {(e["action"], e["resource_id"]) for e in entries}


async def test_the_web_app_signs_in_at_the_provider_and_shows_the_dashboard(api, provider, district_gateway):
    subprocess.run(["bash", str(REPO_ROOT / "web" / "ensure.sh")], check=True, timeout=900)
    district = await new_district(api)
    admin = await bearer(api, "district_admin", district["id"])
    email = f"chief.{uuid.uuid4().hex[:6]}@district.example.org"
    invited = await api.post("/api/v1/users", json={"email": email, "display_name": "Chief Academic Officer", "role": "district_admin"}, headers=admin)
    assert invited.status_code == 201, invited.text
    provider.person = {"sub": uuid.uuid4().hex, "email": email, "email_verified": True}
    done = subprocess.run(["node", "tests/sign_in_oidc.mjs", district_gateway], cwd=REPO_ROOT / "web", capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert (shown["who"], shown["district"], shown["errors"]) == ("Chief Academic Officer", district["name"], [])
    assert "code=" not in shown["url"] and shown["url"].endswith("#/dashboard")  # the code is gone from the address bar


async def test_a_platform_admin_invites_a_new_districts_first_admin(api):
    district = await new_district(api)
    platform_admin = {"authorization": f"Bearer {(await api.post('/auth/dev-token', json={'role': 'platform_admin'})).json()['access_token']}"}
    body = {"email": f"first.{uuid.uuid4().hex[:6]}@district.example.org", "display_name": "First Admin", "role": "district_admin", "district_id": district["id"]}
    invited = await api.post("/api/v1/users", json=body, headers=platform_admin)
    assert invited.status_code == 201 and invited.json()["district_id"] == district["id"], invited.text
    nameless = await api.post("/api/v1/users", json={k: v for k, v in body.items() if k != "district_id"}, headers=platform_admin)
    assert nameless.status_code == 422 and nameless.json()["field"] == "district"  # a platform admin names the district
