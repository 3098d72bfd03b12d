"""``Idempotency-Key`` on every POST through the gateway, keyed per caller, stored in PostgreSQL.

- first request with a key: claimed as in flight, processed, its response stored until it expires;
- same key, same request (method, path, query, body): the stored response again, ``Idempotent-Replayed: true``;
- same key, another request: 422;
- same key while the first is still in flight: 409 with ``Retry-After``.
A 5xx or a failure releases the key, so the client may retry it.

The table never holds the key itself, only its hash, and the stored body is encrypted (AES-GCM) with a
key derived from the caller's key and a server secret: a response that carried a shown-once secret
(a new API client's) is readable again only by whoever presents the same Idempotency-Key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import tempfile
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k12shared.errors import PROBLEM_MEDIA_TYPE, problem_body
from k12_gateway.edge.caller import AUTHENTICATED_PREFIXES, Caller

log = logging.getLogger("k12.gateway.idempotency")
HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
SPOOL_IN_MEMORY = 1024 * 1024
MAX_STORED_RESPONSE = 1024 * 1024
CHUNK = 64 * 1024
# Headers that describe this delivery, not the response: never replayed.
_NOT_REPLAYED = {b"content-length", b"date", b"server", b"x-request-id", b"transfer-encoding", b"connection"}

_CLAIM = """
insert into edge_idempotency_keys (caller, key_hash, fingerprint, state, expires_at)
values ($1, $2, $3, 'in_flight', now() + make_interval(secs => $4))
on conflict (caller, key_hash) do update
  set fingerprint = excluded.fingerprint, state = 'in_flight', response_status = null,
      response_headers = null, response_body = null, created_at = now(), expires_at = excluded.expires_at
  where edge_idempotency_keys.expires_at < now()
returning true
"""
_EXISTING = "select fingerprint, state, response_status, response_headers, response_body from edge_idempotency_keys where caller = $1 and key_hash = $2"
_COMPLETE = """
update edge_idempotency_keys
set state = 'completed', response_status = $3, response_headers = $4, response_body = $5, expires_at = now() + make_interval(secs => $6)
where caller = $1 and key_hash = $2
"""
_RELEASE = "delete from edge_idempotency_keys where caller = $1 and key_hash = $2 and state = 'in_flight'"


@dataclass
class CapturedResponse:
    status: int = 0
    headers: list[tuple[bytes, bytes]] | None = None
    body: bytearray | None = None
    too_large: bool = False

    def add(self, chunk: bytes) -> None:
        if self.too_large:
            return
        self.body = self.body or bytearray()
        self.body.extend(chunk)
        if len(self.body) > MAX_STORED_RESPONSE:
            self.too_large, self.body = True, None


@dataclass(frozen=True)
class StoredKey:
    caller: str
    key_hash: str  # what the table holds instead of the key
    cipher: AESGCM

    @classmethod
    def of(cls, caller: str, key: str, server_secret: str) -> "StoredKey":
        material = hmac.new(server_secret.encode(), f"{caller}\0{key}".encode(), hashlib.sha256).digest()
        return cls(caller, hashlib.sha256(material).hexdigest(), AESGCM(material))

    def seal(self, body: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self.cipher.encrypt(nonce, body, self.key_hash.encode())

    def open(self, sealed: bytes) -> bytes:
        return self.cipher.decrypt(sealed[:12], sealed[12:], self.key_hash.encode())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return value.decode("latin-1")
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER) if scope["type"] == "http" and scope["method"] == "POST" else None
        caller: Caller | None = scope.get("state", {}).get("caller")
        if key is None or caller is None or caller.principal is None or not scope["path"].startswith(AUTHENTICATED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            await _send_problem(send, scope, 400, "Idempotency-Key must be 1 to 255 printable characters", "bad-idempotency-key")
            return
        stored_key = StoredKey.of(caller.bucket, key, scope["app"].state.settings.idempotency_encryption_key)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as body:
            fingerprint = await _spool_body(scope, receive, body)
            await self._handle(scope, receive, send, stored_key, fingerprint, body)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, key: StoredKey, fingerprint: str, body) -> None:
        app_state = scope["app"].state
        pool, settings = app_state.edge_pool, app_state.settings
        lease_s = settings.upstream_read_timeout_s + 30
        claimed = await pool.fetchval(_CLAIM, key.caller, key.key_hash, fingerprint, float(lease_s))
        if not claimed:
            await _answer_existing(scope, send, pool, key, fingerprint)
            return
        captured = CapturedResponse()
        stored = False

        async def capture(message: Message) -> None:
            nonlocal stored
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _NOT_REPLAYED and not k.lower().startswith(b"ratelimit")]
            elif message["type"] == "http.response.body":
                captured.add(message.get("body", b""))
                if not message.get("more_body", False):
                    # Stored before the last byte leaves, so a retry sent on receipt finds it completed.
                    stored = await _store(pool, key, captured, settings.idempotency_ttl_s)
            await send(message)

        try:
            await self.app(scope, _replaying(body, receive), capture)
        finally:
            if not stored:
                await pool.execute(_RELEASE, key.caller, key.key_hash)


async def _answer_existing(scope: Scope, send: Send, pool, key: StoredKey, fingerprint: str) -> None:
    row = await pool.fetchrow(_EXISTING, key.caller, key.key_hash)
    if row is None or row["state"] == "in_flight":
        await _send_problem(send, scope, 409, "A request with this Idempotency-Key is still in flight; retry shortly", "idempotency-key-in-flight", retry_after=1)
        return
    if row["fingerprint"] != fingerprint:
        await _send_problem(send, scope, 422, "This Idempotency-Key was used with a different request", "idempotency-key-reused")
        return
    try:
        body = key.open(row["response_body"])
    except InvalidTag:  # the server secret changed since: the stored answer is unreadable, say so
        await _send_problem(send, scope, 422, "This Idempotency-Key's stored response can no longer be read; use a new key", "idempotency-key-reused")
        return
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in orjson.loads(row["response_headers"] or "[]")]
    headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": row["response_status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _store(pool, key: StoredKey, captured: CapturedResponse, ttl_s: int) -> bool:
    """Keep the response for replay; a 5xx (or one too large to keep) releases the key instead."""
    if captured.status >= 500 or captured.status == 0 or captured.too_large:
        return False
    headers = orjson.dumps([[k.decode("latin-1"), v.decode("latin-1")] for k, v in captured.headers or []]).decode()
    sealed = key.seal(bytes(captured.body or b""))
    await pool.execute(_COMPLETE, key.caller, key.key_hash, captured.status, headers, sealed, float(ttl_s))
    return True


async def _spool_body(scope: Scope, receive: Receive, spool) -> str:
    """Read the whole body into a spooled file (memory, then disk) while hashing what identifies the request."""
    digest = hashlib.sha256()
    for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1")):
        digest.update(part.encode() + b"\0")
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        digest.update(chunk)
        spool.write(chunk)
        if not message.get("more_body", False):
            break
    spool.seek(0)
    return digest.hexdigest()


def _replaying(spool, receive: Receive) -> Receive:
    """Hand the spooled body to the app again; after it, wait on the client (for its disconnect)."""
    size = spool.seek(0, 2)
    spool.seek(0)
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = spool.read(CHUNK)
        done = spool.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not done}

    return replay


async def _send_problem(send: Send, scope: Scope, status: int, detail: str, slug: str, retry_after: int | None = None) -> None:
    titles = {400: "Bad Request", 409: "Conflict", 422: "Unprocessable Content"}
    body = orjson.dumps(problem_body(status, titles[status], detail, slug, scope["path"]))
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
