"""The upstream transport (app/adapters/transport.py) against a real socket on loopback.

Each test serves one behaviour from a raw asyncio server, so faults no well-behaved HTTP
server produces on purpose (a dropped connection, a cut body, garbage) are real bytes on a
real connection. What matters is the httpx error each becomes: the send step retries a write
only when the error says the request was never sent.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar
from typing import Any

import httpx
import orjson
import pytest

from app.adapters.http import ACCEPT, Upstream
from app.adapters.transport import UpstreamClient, upstream_transport
from app.errors import UpstreamTimeout, UpstreamUnavailable
from app.resilience import Resilience, RetryPolicy

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
pytestmark = pytest.mark.usefixtures("no_proxy_env")


class Loopback:
    """A one-behaviour HTTP/1.1 server: counts connections and keeps each request's head."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.connections = 0
        self.open = 0
        self.most_open = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:  # until the client closes (IncompleteReadError) or the reply does
                await self.read_request(reader)
                await self.reply(reader, writer)
                if writer.is_closing():
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        self.heads.append(head)
        self.bodies.append(await reader.readexactly(length))


@asynccontextmanager
async def serving(
    reply: Reply, *, max_connections: int = 10, read: float = 5.0
) -> AsyncIterator[tuple[Loopback, httpx.AsyncClient]]:
    loopback = Loopback(reply)
    server = await asyncio.start_server(loopback.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limits = httpx.Limits(max_connections=max_connections)
    try:
        async with UpstreamClient(
            base_url=f"http://127.0.0.1:{port}/v2",
            timeout=httpx.Timeout(read, connect=5.0),
            limits=limits,
            transport=upstream_transport(limits),
        ) as client:
            yield loopback, client
    finally:
        server.close()
        await server.wait_closed()


def answer(body: bytes, status: str = "200 OK", headers: tuple[str, ...] = ()) -> Reply:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()

    return reply


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)


async def cut_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 900\r\n")
    writer.write(b'\r\n{"Resources": [')
    await writer.drain()
    writer.close()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"this is not HTTP\r\n\r\n")
    await writer.drain()
    writer.close()


JSON = ("Content-Type: application/scim+json",)


async def test_a_request_and_its_answer_cross_the_wire_whole() -> None:
    group = {"id": "g1", "displayName": "HR", "members": [{"value": "u1"}]}
    async with serving(answer(orjson.dumps(group), headers=JSON)) as (loopback, client):
        got = await Upstream("acme", client).send(
            "POST", "Groups", json={"displayName": "HR"}, headers={"Authorization": "Bearer k"}
        )
    assert got == group
    head = loopback.heads[0].decode()
    assert head.startswith("POST /v2/Groups HTTP/1.1\r\n")
    fields = head.lower()  # header names are case-insensitive (RFC 9110 §5.1)
    assert "\r\nauthorization: Bearer k\r\n".lower() in fields
    assert "\r\ncontent-type: application/scim+json\r\n" in fields
    assert orjson.loads(loopback.bodies[0]) == {"displayName": "HR"}


async def test_every_request_asks_for_scim_json_once_whatever_the_client_sends() -> None:
    async with serving(answer(b"{}", headers=JSON)) as (loopback, client):
        await Upstream("acme", client).send("GET", "Groups")  # a client without Accept
        client.headers["Accept"] = ACCEPT  # as the gateway's clients have it
        await Upstream("acme", client).send("GET", "Groups")
        client.headers["Accept"] = "text/html"  # some other client
        await Upstream("acme", client).send("GET", "Groups")
    for head in loopback.heads:
        assert head.lower().count(b"\r\naccept:") == 1
        assert f"\r\naccept: {ACCEPT}\r\n".encode() in head.lower()


async def test_a_large_answer_written_in_pieces_is_read_whole_and_chunked_ones_too() -> None:
    page = {"Resources": [{"id": f"g{i}", "displayName": "x" * 200} for i in range(3000)]}
    body = orjson.dumps(page)  # ~700 KB, more than a socket buffer holds at once

    async def in_pieces(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 200 OK\r\n{JSON[0]}\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode())
        for start in range(0, len(body), 100_000):
            writer.write(body[start : start + 100_000])
            await writer.drain()
            await asyncio.sleep(0.01)

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 200 OK\r\n{JSON[0]}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        for start in range(0, len(body), 65_536):
            piece = body[start : start + 65_536]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    for reply in (in_pieces, chunked):
        async with serving(reply) as (_, client):
            upstream = Upstream("acme", client)
            assert await upstream.send("GET", "Groups") == page
            assert await upstream.send("GET", "Groups") == page  # the connection is reused


async def test_a_gzipped_answer_is_decoded_once() -> None:
    body = gzip.compress(orjson.dumps({"totalResults": 0, "Resources": []}))
    reply = answer(body, headers=(*JSON, "Content-Encoding: gzip"))
    async with serving(reply) as (_, client):
        got = await Upstream("acme", client).send("GET", "Groups")
    assert got == {"totalResults": 0, "Resources": []}


async def test_an_answer_without_a_body_is_none() -> None:
    async with serving(answer(b"", status="204 No Content")) as (_, client):
        assert await Upstream("acme", client).send("PATCH", "Groups/g1", json={}) is None


async def test_connections_are_kept_alive_and_capped_by_the_pool_limit() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        await answer(b"{}", headers=JSON)(reader, writer)

    async with serving(slow, max_connections=2) as (loopback, client):
        upstream = Upstream("acme", client)
        await asyncio.gather(*(upstream.send("GET", f"Groups/{i}") for i in range(6)))
    assert len(loopback.heads) == 6
    assert loopback.most_open == 2
    assert loopback.connections == 2


async def test_a_cookie_the_backend_sets_is_sent_back_once() -> None:
    reply = answer(b"{}", headers=(*JSON, "Set-Cookie: session=abc; Path=/"))
    async with serving(reply) as (loopback, client):
        upstream = Upstream("acme", client)
        await upstream.send("GET", "Groups")
        await upstream.send("GET", "Groups")
    assert loopback.heads[1].decode().lower().count("cookie:") == 1


class CountingJar(CookieJar):
    def __init__(self) -> None:
        super().__init__()
        self.read = 0

    def extract_cookies(self, response: Any, request: Any) -> None:
        self.read += 1
        super().extract_cookies(response, request)


async def test_only_an_answer_that_sets_a_cookie_is_read_for_cookies() -> None:
    sets = {"yes": False}

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        cookie = ("Set-Cookie: affinity=b2; Path=/",) if sets["yes"] else ()
        await answer(b"{}", headers=(*JSON, *cookie))(reader, writer)

    async with serving(reply) as (loopback, client):
        jar = client.cookies.jar = CountingJar()
        upstream = Upstream("acme", client)
        await upstream.send("GET", "Groups")
        assert jar.read == 0  # no Set-Cookie: nothing to read
        sets["yes"] = True
        await upstream.send("GET", "Groups")
        assert jar.read == 1
        assert client.cookies["affinity"] == "b2"
        sets["yes"] = False
        await upstream.send("GET", "Groups")  # sent back
        client.cookies = {"session": "s1"}  # replaced, as on httpx's own client
        await upstream.send("GET", "Groups")
    heads = [head.lower() for head in loopback.heads]
    assert b"cookie:" not in heads[0] and b"cookie:" not in heads[1]
    assert heads[2].count(b"cookie:") == 1 and b"cookie: affinity=b2\r\n" in heads[2]
    assert heads[3].count(b"cookie:") == 1 and b"cookie: session=s1\r\n" in heads[3]


async def test_a_refused_connection_is_a_connect_error_which_says_nothing_was_sent() -> None:
    async with serving(hang_up) as (_, client):
        pass
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(
        base_url=client.base_url, limits=limits, transport=upstream_transport(limits)
    ) as closed:  # the port the server above listened on, now closed
        with pytest.raises(httpx.ConnectError):
            await closed.post("Groups", content=b"{}")
        retrying = Resilience(retry=RetryPolicy(retries=1, backoff=0.001))
        with pytest.raises(UpstreamUnavailable) as caught:
            await Upstream("acme", closed, retrying).send("POST", "Groups", json={})
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_a_connection_dropped_after_the_request_is_not_a_connect_error() -> None:
    retrying = Resilience(retry=RetryPolicy(retries=2, backoff=0.001))
    async with serving(hang_up) as (loopback, client):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("Groups", content=b"{}")
        loopback.heads.clear()
        with pytest.raises(UpstreamUnavailable) as caught:
            await Upstream("acme", client, retrying).send("POST", "Groups", json={})
        assert len(loopback.heads) == 1  # received, maybe applied: a write is not sent again
        loopback.heads.clear()
        with pytest.raises(UpstreamUnavailable):
            await Upstream("acme", client, retrying).send("GET", "Groups")
        assert len(loopback.heads) == 3  # a read is, by the send step's retries alone
        loopback.heads.clear()
        for method in ("PUT", "DELETE"):  # idempotent in HTTP, but maybe applied already
            with pytest.raises(UpstreamUnavailable):
                await Upstream("acme", client, retrying).send(method, "Groups/g1")
        assert [head.split(b" ")[0] for head in loopback.heads] == [b"PUT", b"DELETE"]
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
    assert not isinstance(caught.value.__cause__, httpx.ConnectError | httpx.TimeoutException)


async def test_an_answer_that_never_comes_is_a_read_timeout() -> None:
    async with serving(never_answer, read=0.2) as (_, client):
        with pytest.raises(httpx.ReadTimeout):
            await client.get("Groups")
        with pytest.raises(UpstreamTimeout):
            await Upstream("acme", client).send("GET", "Groups")


async def test_a_body_cut_short_is_a_read_error() -> None:
    async with serving(cut_body) as (_, client):
        with pytest.raises(httpx.ReadError):
            await client.get("Groups")
        with pytest.raises(UpstreamUnavailable) as caught:
            await Upstream("acme", client).send("GET", "Groups")
    assert "ReadError" in str(caught.value)


async def test_an_answer_that_is_not_http_is_a_protocol_error() -> None:
    async with serving(garbage) as (_, client):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("Groups")


async def test_a_cancelled_request_gives_its_connection_back() -> None:
    arrived = asyncio.Event()

    async def first_hangs(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not arrived.is_set():
            arrived.set()
            await asyncio.sleep(30)
        await answer(b"{}", headers=JSON)(reader, writer)

    async with serving(first_hangs, max_connections=1) as (loopback, client):
        upstream = Upstream("acme", client)
        pending = asyncio.ensure_future(upstream.send("GET", "Groups/slow"))
        await asyncio.wait_for(arrived.wait(), 5)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        # The pool's one connection is free again (a new one; the cancelled one is dropped).
        assert await asyncio.wait_for(upstream.send("GET", "Groups/fast"), 5) == {}
    assert loopback.connections == 2


async def test_a_proxy_named_by_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = httpx.Limits(max_connections=1)
    assert upstream_transport(limits) is not None
    async with serving(answer(b"{}", headers=JSON)) as (proxy, proxy_client):
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_client.base_url.port}")
        transport = upstream_transport(limits)
        assert transport is None  # httpx's own, which honours the proxy variables
        async with httpx.AsyncClient(
            base_url="http://scim.invalid/v2", limits=limits, transport=transport
        ) as client:
            assert await Upstream("acme", client).send("GET", "Groups") == {}
    assert proxy.heads[0].startswith(b"GET http://scim.invalid/v2/Groups HTTP/1.1\r\n")
