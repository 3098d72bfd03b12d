"""httpcore's connections on plain asyncio transports, for the internal HTTP client.

httpcore's default backend wraps every socket read and write in anyio cancel scopes and checkpoints, and
tests an idle pooled connection with a ``poll`` system call: together about a third of what the gateway
spends forwarding a request. Here a connection is an ``asyncio.Protocol`` that buffers what arrives, so a
read is a look at the buffer, a write hands the bytes to the event loop's transport, a timeout is one timer
and an idle connection the service has closed is known from the EOF already received.
"""

from __future__ import annotations

import asyncio
import ssl
import typing

import httpcore
from httpcore import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

# Reading from the socket pauses while this much is buffered and unread (a slow consumer of a large stream).
MAX_BUFFERED = 256 * 1024


class _ConnectionProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False  # EOF or connection lost
        self.error: Exception | None = None
        self.paused_writing = False
        self._reading_paused = False
        self._waiters: set[asyncio.Future[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > MAX_BUFFERED and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self._wake()

    def pause_writing(self) -> None:
        self.paused_writing = True

    def resume_writing(self) -> None:
        self.paused_writing = False
        self._wake()

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self._reading_paused and len(self.buffer) <= MAX_BUFFERED // 2 and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    async def wait(self, timeout: float | None, on_timeout: type[Exception]) -> None:
        """Until something arrives, the connection ends or writing may resume; ``on_timeout`` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiters.add(waiter)
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        except TimeoutError:
            raise on_timeout() from None
        finally:
            self._waiters.discard(waiter)
            if timer is not None:
                timer.cancel()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _ConnectionProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.buffer and not protocol.closed:
            await protocol.wait(timeout, ReadTimeout)
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""  # the service closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.closed or self._transport.is_closing():
            raise WriteError("The connection is closed")
        self._transport.write(buffer)
        while protocol.paused_writing and not protocol.closed:
            await protocol.wait(timeout, WriteTimeout)
        if protocol.error is not None:
            raise WriteError(str(protocol.error) or type(protocol.error).__name__)

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(self._transport, self._protocol, ssl_context, server_hostname=server_hostname, ssl_handshake_timeout=timeout)
        except TimeoutError as exc:
            self._transport.close()
            raise ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise ConnectError(str(exc)) from exc
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":  # asked of an idle pooled connection: anything arrived means the service closed it
            return bool(self._protocol.buffer) or self._protocol.closed
        names = {"ssl_object": "ssl_object", "client_addr": "sockname", "server_addr": "peername", "socket": "socket"}
        return self._transport.get_extra_info(names[info]) if info in names else None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options: typing.Iterable[typing.Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        return await _connect(lambda loop: loop.create_connection(_ConnectionProtocol, host, port, local_addr=local), timeout, socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.AsyncNetworkStream:
        return await _connect(lambda loop: loop.create_unix_connection(_ConnectionProtocol, path), timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connect(open_connection, timeout: float | None, socket_options: typing.Iterable[typing.Any] | None) -> AsyncioStream:
    try:
        async with asyncio.timeout(timeout):
            transport, protocol = await open_connection(asyncio.get_running_loop())
    except TimeoutError as exc:
        raise ConnectTimeout(str(exc)) from exc
    except OSError as exc:
        raise ConnectError(str(exc)) from exc
    for option in socket_options or ():  # TCP_NODELAY is asyncio's default already
        transport.get_extra_info("socket").setsockopt(*option)
    return AsyncioStream(transport, protocol)
