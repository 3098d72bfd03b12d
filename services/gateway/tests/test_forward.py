"""Forwarding on its own, against a real socket server standing in for a service: what reaches it, what comes back."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
import pytest
from starlette.requests import Request

from k12shared.http import pooled_transport
from k12_gateway.proxy.forward import forward


async def _echo_headers_and_set_a_cookie(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers each request with the headers it received, and asks for a cookie to be kept."""
    while True:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        except asyncio.IncompleteReadError:
            return
        body = orjson.dumps([line.partition(":")[0].lower() for line in head[1:] if line])
        writer.write(b"HTTP/1.1 200 OK\r\nset-cookie: session=one-callers\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()


@pytest.fixture
async def service_url():
    server = await asyncio.start_server(_echo_headers_and_set_a_cookie, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()


def _request(settings, headers: list[tuple[bytes, bytes]]) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    return Request({"type": "http", "method": "GET", "scheme": "http", "path": "/api/v1/orgs", "raw_path": b"/api/v1/orgs",
                    "query_string": b"", "headers": headers, "client": ("198.51.100.7", 4000), "app": app})


async def test_the_callers_headers_pass_as_sent_and_no_cookie_rides_along_to_the_next_caller(settings, service_url):
    transport = pooled_transport(settings)
    try:
        first = await forward(_request(settings, [(b"authorization", b"Bearer a")]), transport, service_url, "metrics")
        assert first.headers["set-cookie"] == "session=one-callers"  # passed on to the caller it was meant for
        second = await forward(_request(settings, [(b"authorization", b"Bearer b")]), transport, service_url, "metrics")
    finally:
        await transport.aclose()
    received = orjson.loads(second.body)
    assert "cookie" not in received
    assert sorted(received) == ["authorization", "host", "x-forwarded-for", "x-forwarded-proto", "x-request-id"]
