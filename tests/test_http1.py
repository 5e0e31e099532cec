"""bot/http1.py: the Bot API's JSON calls over kept-open HTTP/1.1 connections, against real servers on this machine:
a scripted one for the shapes of answer HTTP allows (and the ways a connection fails), and a TLS one."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError

from bot import http1
from bot.client import JsonSession
from bot.http1 import Http1Client, Http1Error

OK = b'{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"B","username":"b_bot"}}'
Answer = Callable[[bytes], list[bytes | float | None]]  # request -> what to do: bytes written, a pause, None = close


def length(body: bytes = OK, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        len(body), extra, body)


class Server:
    """A TCP server that reads whole requests (head and Content-Length body) and answers each as scripted."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0

    def drop(self) -> None:
        """Close the server's side of every connection (as a server does with idle ones)."""
        for writer in self.writers:
            writer.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                size = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                             if line.lower().startswith(b"content-length:")), 0)
                request = head + await reader.readexactly(size)
                self.requests.append(request)
                for step in self.answer(request):
                    if step is None:
                        writer.close()
                        return
                    if isinstance(step, float):
                        await writer.drain()
                        await asyncio.sleep(step)
                    else:
                        writer.write(step)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(answer: Answer, ssl_context: ssl.SSLContext | None = None,
                  host: str = "127.0.0.1") -> AsyncIterator[Server]:
    server = Server(answer)
    listening = await asyncio.start_server(server.handle, host, 0, ssl=ssl_context)
    server.port = int(listening.sockets[0].getsockname()[1])
    try:
        yield server
    finally:
        listening.close()
        server.drop()


async def test_a_connection_is_kept_for_the_next_call() -> None:
    async with serving(lambda _: [length()]) as server:
        client = Http1Client()
        try:
            for _ in range(3):
                assert await client.post(f"http://127.0.0.1:{server.port}/bot1:T/getMe", b"{}") == (200, OK)
        finally:
            client.close()
    assert server.connections == 1
    request = server.requests[0]
    assert request.startswith(b"POST /bot1:T/getMe HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in request
    assert b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" in request


async def test_only_http_and_https_addresses_are_taken() -> None:
    client = Http1Client()
    for url in ("ftp://127.0.0.1/x", "http:///no-host", "127.0.0.1:80/x"):
        with pytest.raises(Http1Error, match="not an http"):
            await client.post(url, b"{}")


async def test_an_ipv6_address_is_named_in_brackets() -> None:
    async with serving(lambda _: [length()], host="::1") as server:
        client = Http1Client()
        try:
            assert await client.post(f"http://[::1]:{server.port}/x", b"{}") == (200, OK)
        finally:
            client.close()
    assert f"Host: [::1]:{server.port}\r\n".encode() in server.requests[0]


async def test_answers_chunked_split_closing_and_interim_are_read_whole() -> None:
    chunked = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"5\r\n{\"ok\"", 0.01,
               b"\r\nE;name=x\r\n:true,\"result\"\r\n", b"3\r\n:1}\r\n0\r\nX-Trailer: 1\r\n\r\n"]
    scripts: list[list[bytes | float | None]] = [
        chunked,
        [length()[:20], 0.01, length()[20:]],  # the head and body in pieces
        [length(extra=b"Connection: close\r\n"), None],  # the server closes: a new connection next time
        [b"HTTP/1.1 100 Continue\r\n\r\n", length()],
        [b"HTTP/1.0 200 OK\r\n\r\n" + OK, None],  # no length: the body ends with the connection
        [b"HTTP/1.1 204 No Content\r\n\r\n"],
        [length(b'{"ok":false,"error_code":400,"description":"Bad Request: x"}').replace(b"200 OK", b"400 Bad")],
    ]
    calls = iter(scripts)
    async with serving(lambda _: next(calls)) as server:
        client = Http1Client()
        url = f"http://127.0.0.1:{server.port}/bot1:T/getMe"
        try:
            assert await client.post(url, b"{}") == (200, b'{"ok":true,"result":1}')
            assert await client.post(url, b"{}") == (200, OK)
            assert server.connections == 1
            assert await client.post(url, b"{}") == (200, OK)
            assert await client.post(url, b"{}") == (200, OK)
            assert server.connections == 2
            assert await client.post(url, b"{}") == (200, OK)
            assert await client.post(url, b"{}") == (204, b"")
            status, body = await client.post(url, b"{}")
            assert (status, body[:11]) == (400, b'{"ok":false')
            assert server.connections == 3  # after the HTTP/1.0 answer (closed), one more, kept since
        finally:
            client.close()


async def test_an_idle_connection_closed_by_the_server_is_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(lambda _: [length()]) as server:
        client = Http1Client()
        url = f"http://127.0.0.1:{server.port}/x"
        try:
            await client.post(url, b"{}")
            server_side = server.connections
            server.drop()  # the server closes the idle connection
            await asyncio.sleep(0.05)
            assert await client.post(url, b"{}") == (200, OK)
            assert server.connections == server_side + 1
            monkeypatch.setattr(http1, "KEEP_ALIVE", 0.0)  # kept too long: not used again either
            assert await client.post(url, b"{}") == (200, OK)
            assert server.connections == server_side + 2
        finally:
            client.close()


@pytest.mark.parametrize("script, error", [
    ([None], r"the connection closed before the answer \(closed by the server; call 1 on this connection\)$"),
    ([length()[:30], None], "no complete HTTP answer head"),
    ([length()[:-5], None], "before the answer's body ended"),
    ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", None], "inside a chunked answer"),
    ([b"SSH-2.0-OpenSSH\r\n\r\n"], "not an HTTP/1.x answer"),
    ([b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"], "a bad Content-Length"),
    ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], "a bad chunk size"),
])
async def test_a_broken_answer_is_an_error_and_its_connection_is_dropped(
        script: list[bytes | None], error: str) -> None:
    calls = iter([script, [length()]])
    async with serving(lambda _: next(calls)) as server:
        client = Http1Client()
        url = f"http://127.0.0.1:{server.port}/x"
        try:
            with pytest.raises(Http1Error, match=error):
                await client.post(url, b"{}")
            assert await client.post(url, b"{}") == (200, OK)  # on a new connection
            assert server.connections == 2
        finally:
            client.close()


async def test_through_the_bot_a_timeout_or_a_refused_connection_is_aiograms_network_error() -> None:
    calls = iter([[1.0, length()], [length()]])
    async with serving(lambda _: next(calls)) as server:
        session = JsonSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{server.port}"), timeout=0.2)
        bot = Bot("1:T", session=session)
        try:
            with pytest.raises(TelegramNetworkError, match="Request timeout error"):
                await bot.get_me()
            assert (await bot.get_me()).username == "b_bot"  # a new connection: the late answer is not read
            assert server.connections == 2
        finally:
            await session.close()
    closed_port = server.port
    session = JsonSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{closed_port}"))
    try:
        with pytest.raises(TelegramNetworkError, match="cannot connect"):
            await Bot("1:T", session=session).get_me()
    finally:
        await session.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is needed to make the TLS test's certificate"
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    return key, cert


async def test_https_is_tls_with_the_servers_certificate_checked(certificate: tuple[Path, Path]) -> None:
    key, cert = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    async with serving(lambda _: [length()], server_context) as server:
        trusted = Http1Client(ssl_context=ssl.create_default_context(cafile=str(cert)))
        untrusted = Http1Client()  # certifi's authorities: a self-made certificate is refused
        url = f"https://localhost:{server.port}/bot1:T/getMe"
        try:
            assert await trusted.post(url, b"{}") == (200, OK)
            assert await trusted.post(url, b"{}") == (200, OK)
            assert server.connections == 1
            assert f"Host: localhost:{server.port}\r\n".encode() in server.requests[0]
            with pytest.raises(Http1Error, match="CERTIFICATE_VERIFY_FAILED"):
                await untrusted.post(url, b"{}")
        finally:
            trusted.close()
            untrusted.close()


def test_on_uvloop_as_jamaat_run_uses_it(certificate: tuple[Path, Path]) -> None:
    """``jamaat run`` and ``jamaat webhook`` run on uvloop, whose transports are classes of its own."""
    import uvloop

    async def scenario() -> None:
        await test_a_connection_is_kept_for_the_next_call()
        await test_answers_chunked_split_closing_and_interim_are_read_whole()
        await test_https_is_tls_with_the_servers_certificate_checked(certificate)
        await test_through_the_bot_a_timeout_or_a_refused_connection_is_aiograms_network_error()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())


async def test_a_kept_connection_closed_under_a_call_says_so() -> None:
    """A server that closes a kept connection after reading the next call: the error tells whose close it was and
    how long after the previous answer the connection was used again (the call may have been carried out: it is
    not sent again)."""
    calls = iter([[length()], [None], [length()]])
    async with serving(lambda _: next(calls)) as server:
        client = Http1Client()
        url = f"http://127.0.0.1:{server.port}/x"
        try:
            assert await client.post(url, b"{}") == (200, OK)
            reused = r"\(closed by the server; call 2 on this connection, 0\.\d{3} s after the previous answer\)"
            with pytest.raises(Http1Error, match=reused):
                await client.post(url, b"{}")
            assert await client.post(url, b"{}") == (200, OK)
            assert server.connections == 2
        finally:
            client.close()
