"""Keep-alive HTTP/1.1 for the Bot API's JSON calls: a request written in one piece, its answer read as it comes.

Every update costs the bot one or two Bot API calls (an answer to a tapped button, an edit, a message), and each
went through aiohttp's client: its request and response objects, timers, tracing hooks, cookie jar and header
multidicts cost ~110 µs of CPU a call on top of what the call needs (153 against 46 µs for a ``getMe`` against
the emulator), about a tenth of an update. A Bot API call is always the same shape: a POST of a JSON body to one
server, an answer with a status and a JSON body. ``Http1Client`` does only that, over connections it keeps open
(TLS for ``https://``, as Telegram's server is). Files still go through aiohttp (``bot.client.JsonSession``).

A connection is used by one call at a time and kept for the next only when the answer allows it (HTTP/1.1
without ``Connection: close``, a body whose end is known) and only for ``KEEP_ALIVE`` seconds, aiohttp's own
default, so a server that drops idle connections does not find us writing to one. Answers with a
``Content-Length``, chunked or ended by the server closing the connection are read. Anything that goes wrong with
the connection (refused, reset, closed before the answer, an answer that is not HTTP) is ``Http1Error``; a
timeout is ``TimeoutError``. Neither is retried here: the caller decides, as with aiohttp.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from urllib.parse import urlsplit

import certifi

KEEP_ALIVE = 15.0  # seconds a connection may wait idle for its next call (aiohttp's default)
LIMIT = 100  # connections at once per server (aiohttp's default)
_MAX_HEAD = 64 * 1024


class Http1Error(ConnectionError):
    """The call did not get a readable answer: the connection failed, or what came back was not HTTP/1.x."""


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.closed = False
        self.idle_since = 0.0
        self._head: tuple[int, int | None, bool, bool] | None = None  # status, length, chunked, keep-alive
        # What an error says of a connection lost before its answer (to tell a server's close from ours):
        self.calls = 0  # exchanges begun on it
        self.server_ended = False  # the server closed its side
        self.reused_after: float | None = None  # seconds between the previous answer and this call

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None:  # bytes nobody asked for: this connection is not to be trusted again
            self.close()
            return
        try:
            self._parse(eof=False)
        except Http1Error as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        self.server_ended = True
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            if self._head is None and not self.buffer:  # not a byte of the answer
                how = ("closed by the server" if self.server_ended
                       else f"lost: {exc}" if exc is not None else "closed by this client")
                after = "" if self.reused_after is None else f", {self.reused_after:.3f} s after the previous answer"
                self._fail(Http1Error(f"the connection closed before the answer ({how}; call {self.calls} on this "
                                      f"connection{after})"))
                return
            try:
                self._parse(eof=True)
            except Http1Error as error:
                self._fail(error)
                return
            if self.waiter is not None and not self.waiter.done():
                self._fail(Http1Error(f"the connection closed before the answer ended: {exc or 'closed'}"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Write the request, wait for the whole answer: status, body, and whether the connection may be reused."""
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self._head = None
        self.calls += 1
        self.reused_after = time.monotonic() - self.idle_since if self.calls > 1 else None
        self.transport.write(request)
        try:
            return await self.waiter
        finally:
            self.waiter = None

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.close()

    def _finish(self, status: int, body: bytes, keep: bool) -> None:
        assert self.waiter is not None
        if self.buffer:  # more than the answer: nothing was asked for it
            keep = False
        if not self.waiter.done():
            self.waiter.set_result((status, body, keep and not self.closed))
        self.waiter = None  # whatever comes now was not asked for

    def _parse(self, eof: bool) -> None:
        if self._head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:  # (nothing at all before a close is connection_lost's own error)
                if len(self.buffer) > _MAX_HEAD or eof:
                    raise Http1Error("no complete HTTP answer head" if eof else "an HTTP answer head too long")
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            del self.buffer[:end + 4]
            self._head = _read_head(head)
            if 100 <= self._head[0] < 200:  # an interim answer (100 Continue): the real one follows
                self._head = None
                self._parse(eof)
                return
        status, length, chunked, keep = self._head
        if status in (204, 304):
            self._finish(status, b"", keep)
        elif chunked:
            body = _dechunk(self.buffer)
            if body is not None:
                self._finish(status, body, keep)
            elif eof:
                raise Http1Error("the connection closed inside a chunked answer")
        elif length is not None:
            if len(self.buffer) >= length:
                body = bytes(self.buffer[:length])
                del self.buffer[:length]
                self._finish(status, body, keep)
            elif eof:
                raise Http1Error("the connection closed before the answer's body ended")
        elif eof:  # no length given: the body ends with the connection
            body = bytes(self.buffer)
            self.buffer.clear()
            self._finish(status, body, False)


def _read_head(head: str) -> tuple[int, int | None, bool, bool]:
    lines = head.split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise Http1Error(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
    status = int(rest[:3])
    length: int | None = None
    chunked = False
    keep = version == "HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "content-length":
            if not value.isdigit():
                raise Http1Error(f"a bad Content-Length: {value[:40]!r}")
            length = int(value)
        elif name == "transfer-encoding":
            chunked = value.lower().endswith("chunked")
        elif name == "connection":
            keep = keep and "close" not in value.lower()
    return status, length, chunked, keep


def _dechunk(buffer: bytearray) -> bytes | None:
    """The body of a complete chunked answer at the start of ``buffer`` (taken out of it), or None if incomplete."""
    body = bytearray()
    at = 0
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size_text = bytes(buffer[at:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise Http1Error(f"a bad chunk size: {size_text[:20]!r}") from None
        at = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", at)  # trailers, if any, end with an empty line
            while trailer_end >= 0 and trailer_end != at:
                at = trailer_end + 2
                trailer_end = buffer.find(b"\r\n", at)
            if trailer_end < 0:
                return None
            del buffer[:trailer_end + 2]
            return bytes(body)
        if len(buffer) < at + size + 2:
            return None
        body += buffer[at:at + size]
        at += size + 2


class Origin:
    """The open connections to one server (``scheme://host:port``)."""

    def __init__(self, scheme: str, host: str, port: int, ssl_context: ssl.SSLContext | None) -> None:
        self.host, self.port = host, port
        self.ssl = (ssl_context or _default_ssl()) if scheme == "https" else None
        default = 443 if scheme == "https" else 80
        name = f"[{host}]" if ":" in host else host  # an IPv6 address in brackets, as in the URL
        self.host_header = (name if port == default else f"{name}:{port}").encode("idna")
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(LIMIT)
        self.connections: set[_Connection] = set()

    async def post(self, target: str, body: bytes, content_type: str, timeout: float) -> tuple[int, bytes]:
        request = b"".join((b"POST ", target.encode(), b" HTTP/1.1\r\nHost: ", self.host_header,
                            b"\r\nContent-Type: ", content_type.encode(), b"\r\nContent-Length: ",
                            str(len(body)).encode(), b"\r\n\r\n", body))
        async with self.slots, asyncio.timeout(timeout):
            connection = self._idle_connection() or await self._connect()
            try:
                status, answer, keep = await connection.exchange(request)
            except BaseException:
                connection.close()
                self.connections.discard(connection)
                raise
            if keep:
                connection.idle_since = time.monotonic()
                self.idle.append(connection)
            else:
                connection.close()
                self.connections.discard(connection)
            return status, answer

    def _idle_connection(self) -> _Connection | None:
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed and now - connection.idle_since < KEEP_ALIVE:
                return connection
            connection.close()
            self.connections.discard(connection)
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                _Connection, self.host, self.port, ssl=self.ssl, server_hostname=self.host if self.ssl else None)
        except (OSError, ssl.SSLError) as exc:
            raise Http1Error(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self.connections.add(connection)
        return connection

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.connections.clear()
        self.idle.clear()


class Http1Client:
    """POSTs to any number of servers, one ``Origin`` each (the Bot API has one)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.origins: dict[str, Origin] = {}  # by the URL's scheme and authority

    def origin(self, url: str) -> tuple[Origin, str]:
        """The server of ``url`` and the request target (path and query) within it."""
        scheme, _, rest = url.partition("://")
        authority, slash, path = rest.partition("/")
        found = self.origins.get(f"{scheme}://{authority}")
        if found is None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise Http1Error(f"not an http(s) address: {url[:80]!r}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            found = self.origins[f"{scheme}://{authority}"] = Origin(parts.scheme, parts.hostname, port,
                                                                      self.ssl_context)
        return found, slash + path

    async def post(self, url: str, body: bytes, *, content_type: str = "application/json",
                   timeout: float = 60.0) -> tuple[int, bytes]:
        origin, target = self.origin(url)
        return await origin.post(target, body, content_type, timeout)

    def close(self) -> None:
        for origin in self.origins.values():
            origin.close()
        self.origins.clear()


def _default_ssl() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())  # as aiogram's own session
