"""The internal HTTP client's connections on asyncio transports, against a real socket server."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from k12shared.http import AsyncioTransport
from k12shared.testing.platform import free_port

LARGE = 8 * 1024 * 1024
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.url = ""

    async def __aenter__(self) -> "Server":
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            finally:
                writer.close()

        self._server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()


async def _request_head(reader: asyncio.StreamReader) -> dict[str, str]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}


def _answer(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body


async def answer_ok_and_keep_open(reader, writer) -> None:
    while True:
        try:
            await _request_head(reader)
        except asyncio.IncompleteReadError:
            return
        writer.write(_answer(b"ok"))
        await writer.drain()


async def answer_ok_then_close(reader, writer) -> None:
    await _request_head(reader)
    writer.write(_answer(b"ok"))
    await writer.drain()


async def never_answer(reader, writer) -> None:
    await _request_head(reader)
    await reader.read()  # until the client gives up and closes


async def answer_large(reader, writer) -> None:
    await _request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % LARGE)
    for offset in range(0, LARGE, 64 * 1024):
        writer.write(_pattern(offset, 64 * 1024))
        await writer.drain()


async def count_uploaded(reader, writer) -> None:
    length = int((await _request_head(reader))["content-length"])
    body = await reader.readexactly(length)
    writer.write(_answer(hashlib.sha256(body).hexdigest().encode()))
    await writer.drain()


def _pattern(offset: int, size: int) -> bytes:
    cycle = bytes(range(251))
    start = offset % len(cycle)
    return ((cycle[start:] + cycle[:start]) * (size // len(cycle) + 1))[:size]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=10, keepalive_expiry=30)
    async with httpx.AsyncClient(transport=AsyncioTransport(limits), timeout=httpx.Timeout(2.0)) as http:
        yield http


async def test_requests_share_one_kept_alive_connection(client):
    async with Server(answer_ok_and_keep_open) as server:
        for _ in range(3):
            response = await client.get(server.url + "/")
            assert (response.status_code, response.text) == (200, "ok")
        assert server.connections == 1


async def test_a_connection_the_service_closed_while_idle_is_not_reused(client):
    async with Server(answer_ok_then_close) as server:
        assert (await client.get(server.url + "/")).text == "ok"
        await asyncio.sleep(0.1)  # the server's close arrives while the connection is idle in the pool
        assert (await client.get(server.url + "/")).text == "ok"
        assert server.connections == 2


async def test_a_service_that_does_not_answer_is_a_read_timeout(client):
    async with Server(never_answer) as server:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(server.url + "/", timeout=0.2)


async def test_nobody_listening_is_a_connect_error(client):
    with pytest.raises(httpx.ConnectError):
        await client.get(f"http://127.0.0.1:{free_port()}/")


async def test_a_large_answer_read_slowly_arrives_whole(client):
    async with Server(answer_large) as server, client.stream("GET", server.url + "/") as response:
        received = bytearray()
        async for chunk in response.aiter_raw():
            received += chunk
            await asyncio.sleep(0)  # a slow consumer: the connection's buffer fills and reading pauses
        assert received == _pattern(0, LARGE)


async def test_a_large_upload_is_sent_whole(client):
    body = _pattern(7, LARGE)
    async with Server(count_uploaded) as server:
        response = await client.post(server.url + "/", content=body)
        assert response.text == hashlib.sha256(body).hexdigest()
