"""Structured JSON logs, one line per request with its request id and latency.

Pure ASGI middleware (not BaseHTTPMiddleware) so streaming bodies stay streamed.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import re
import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k12shared.errors import PROBLEM_MEDIA_TYPE, problem_body

REQUEST_ID_HEADER = "x-request-id"
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}
# Never let a credential reach a log line, whatever a caller passes in ``extra``.
_SECRET_KEYS = {"authorization", "password", "secret", "client_secret", "token", "access_token", "webhook-signature"}
# Capability URLs carry their secret in the path (a calendar feed): log the path's shape instead.
_SECRET_PATHS = (re.compile(r"^(/api/v1/calendars/)[^/]+(\.ics)$"),)


def loggable_path(path: str) -> str:
    for pattern in _SECRET_PATHS:
        path = pattern.sub(r"\1[redacted]\2", path)
    return path


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = "[redacted]" if key.lower() in _SECRET_KEYS else value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access log would be a second, unstructured line per request.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)  # our own request line says enough
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Assigns or passes on X-Request-ID, logs one line per request, caps body sizes."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, streaming_paths: tuple[str, ...] = (), max_stream_bytes: int = 0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.streaming_paths = streaming_paths
        self.max_stream_bytes = max_stream_bytes
        self.log = logging.getLogger("k12.request")

    def _limit_for(self, path: str) -> int:
        if any(path.startswith(p) for p in self.streaming_paths):
            return self.max_stream_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")[:128] or new_request_id()
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status_holder = {"status": 500}
        limit = self._limit_for(scope["path"])

        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _drain(receive)
            await _send_too_large(send, rid, limit, scope["path"])
            self._log(scope, 413, started)
            request_id_var.reset(token)
            return

        received = 0
        body_complete = False

        async def limited_receive() -> Message:
            nonlocal received, body_complete
            message = await receive()
            if message["type"] == "http.request":
                body_complete = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_with_id(message: Message) -> None:
            if received > limit:
                # The app caught BodyTooLarge itself (FastAPI turns a failed body read into a 400): the answer is ours.
                raise BodyTooLarge(limit)
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                hdrs = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                hdrs.append((b"x-request-id", rid.encode()))
                message["headers"] = hdrs
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge:
            status_holder["status"] = 413
            if not body_complete:
                await _drain(receive)  # so the client, still sending, gets to read the answer
            await _send_too_large(send, rid, limit, scope["path"])
        finally:
            self._log(scope, status_holder["status"], started)
            request_id_var.reset(token)

    def _log(self, scope: Scope, status: int, started: float) -> None:
        client = scope.get("client")
        self.log.info(
            "request",
            extra={
                "method": scope["method"],
                "path": loggable_path(scope["path"]),
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                "client_ip": client[0] if client else None,
            },
        )


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit


DRAIN_AT_MOST = 16 * 1024 * 1024


async def _drain(receive: Receive) -> None:
    """Read (and drop) a refused body so the client can read our answer; give up past a bound."""
    drained = 0
    while drained < DRAIN_AT_MOST:
        message = await receive()
        if message["type"] != "http.request":
            return
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _send_too_large(send: Send, rid: str, limit: int, path: str) -> None:
    body = orjson.dumps(
        problem_body(413, "Payload Too Large", f"Request body exceeds {limit} bytes", "payload-too-large", path)
    )
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", rid.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
    except RuntimeError:
        # The response had already started; nothing more can be said to the client.
        pass
