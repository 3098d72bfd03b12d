"""``Idempotency-Key`` on every POST through the gateway, keyed per caller, stored in PostgreSQL.

- first request with a key: claimed as in flight, processed, its response stored until it expires;
- same key, same request (method, path, query, body): the stored response again, ``Idempotent-Replayed: true``;
- same key, another request: 422;
- same key while the first is still in flight: 409 with ``Retry-After``.
A 5xx or a failure releases the key, so the client may retry it.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass

import orjson
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
insert into edge_idempotency_keys (caller, key, fingerprint, state, expires_at)
values ($1, $2, $3, 'in_flight', now() + make_interval(secs => $4))
on conflict (caller, key) do update
  set fingerprint = excluded.fingerprint, state = 'in_flight', response_status = null,
      response_headers = null, response_body = null, created_at = now(), expires_at = excluded.expires_at
  where edge_idempotency_keys.expires_at < now()
returning true
"""
_EXISTING = "select fingerprint, state, response_status, response_headers, response_body from edge_idempotency_keys where caller = $1 and key = $2"
_COMPLETE = """
update edge_idempotency_keys
set state = 'completed', response_status = $3, response_headers = $4, response_body = $5, expires_at = now() + make_interval(secs => $6)
where caller = $1 and key = $2
"""
_RELEASE = "delete from edge_idempotency_keys where caller = $1 and key = $2 and state = 'in_flight'"


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
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as body:
            fingerprint = await _spool_body(scope, receive, body)
            await self._handle(scope, receive, send, caller.bucket, key, fingerprint, body)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, caller: str, key: str, fingerprint: str, body) -> None:
        app_state = scope["app"].state
        pool, settings = app_state.edge_pool, app_state.settings
        lease_s = settings.upstream_read_timeout_s + 30
        claimed = await pool.fetchval(_CLAIM, caller, key, fingerprint, float(lease_s))
        if not claimed:
            await self._answer_existing(scope, send, pool, caller, key, fingerprint)
            return
        captured = CapturedResponse()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _NOT_REPLAYED and not k.lower().startswith(b"ratelimit")]
            elif message["type"] == "http.response.body":
                captured.add(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, _replaying(body, receive), capture)
        except BaseException:
            await pool.execute(_RELEASE, caller, key)
            raise
        if captured.status >= 500 or captured.status == 0 or captured.too_large:
            await pool.execute(_RELEASE, caller, key)
            return
        stored_headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in captured.headers or []]
        await pool.execute(
            _COMPLETE, caller, key, captured.status, orjson.dumps(stored_headers).decode(), bytes(captured.body or b""), float(settings.idempotency_ttl_s)
        )

    async def _answer_existing(self, scope: Scope, send: Send, pool, caller: str, key: str, fingerprint: str) -> None:
        row = await pool.fetchrow(_EXISTING, caller, key)
        if row is None or row["state"] == "in_flight":
            await _send_problem(
                send, scope, 409, "A request with this Idempotency-Key is still in flight; retry shortly", "idempotency-key-in-flight", retry_after=1
            )
        elif row["fingerprint"] != fingerprint:
            await _send_problem(send, scope, 422, "This Idempotency-Key was used with a different request", "idempotency-key-reused")
        else:
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in orjson.loads(row["response_headers"] or "[]")]
            body = row["response_body"] or b""
            headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
            await send({"type": "http.response.start", "status": row["response_status"], "headers": headers})
            await send({"type": "http.response.body", "body": body})


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
