"""The HTTP transport under every tenant's ``httpx.AsyncClient``: aiohttp's, through httpx-aiohttp;
and that client itself (:class:`UpstreamClient`).

The adapters keep httpx's client API (requests, responses, timeouts, limits, auth headers);
only the layer that moves bytes changes. httpcore, httpx's own transport, cost the gateway
about half of its CPU per ``node(id:)`` under concurrent load: its pool asks every pooled
connection whether it expired on each request, through anyio's socket attributes
(encode/httpcore#928), and its pure-Python HTTP/1.1 parsing reads a large answer in ~1 ms
more than aiohttp's C parser. Measured in docs/performance.md (item 25).

httpx-aiohttp's own error mapping would call a dropped connection a ``ConnectTimeout``,
which says the request was never sent and so may be retried even when it is a write.
:func:`_translated` maps aiohttp's errors by what they say about the request instead; a
request whose fate is unknown is never reported as unsent, and never sent again here. A
gateway whose environment names a proxy (``HTTP(S)_PROXY``, ``ALL_PROXY``) keeps httpx's own
transport, the one that honours those variables.
"""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


class UpstreamClient(httpx.AsyncClient):
    """httpx's client for one tenant, whose cookie jar reads an answer only when it sets a
    cookie.

    httpx reads every answer for cookies: it makes urllib views of the request and the answer
    and an ``email.message`` of the headers, ~70 us an answer, though an answer without a
    ``Set-Cookie`` (or ``Set-Cookie2``) header has none to give. The jar is httpx's own
    otherwise: cookies a backend sets (a load balancer's affinity cookie, say) are kept and
    sent back as before. httpx reaches its jar through the public ``cookies`` property, which
    this class answers with :class:`_SetCookies`.
    """

    _set_cookies: _SetCookies

    @property
    def cookies(self) -> httpx.Cookies:
        try:
            return self._set_cookies
        except AttributeError:  # first use: the jar httpx's constructor made, as ours
            self._set_cookies = _SetCookies(super().cookies)
            return self._set_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._set_cookies = _SetCookies(cookies)


class _SetCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


def upstream_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """A transport for one tenant's client, its pool capped by ``limits.max_connections``;
    ``None`` (httpx's own) when the environment names a proxy: httpx honours
    ``HTTP(S)_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` only with its own transport."""
    if _PROXIED.intersection(urllib.request.getproxies_environment()):
        return None
    return _Transport(limits=limits)


_PROXIED = frozenset({"http", "https", "all"})


class _Transport(AiohttpTransport):
    def get_client(self) -> aiohttp.ClientSession:
        # Made on the first request, inside the running loop. httpx keeps the cookies (its
        # client merges them into each request's headers); a jar here would be a second one.
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
        )
        session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
        # aiohttp sends a GET, PUT or DELETE once more when the connection drops before the
        # answer. The send step alone decides what is sent again (a replace or delete that
        # reached the backend must not be repeated): off, as aiohttp's own test client does.
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # httpx-aiohttp's own method, less its proxy arguments (a proxied gateway keeps
        # httpx's transport), with the body read in one piece (:class:`_Body`).
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        timeout = request.extensions.get("timeout", {})
        data: bytes | httpx.AsyncByteStream | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = request.stream  # type: ignore[assignment]
            request.headers.pop("transfer-encoding", None)  # aiohttp frames it
        with _translated():
            response = await self.client.request(
                request.method,
                str(request.url),
                headers=request.headers,
                data=data,
                allow_redirects=False,
                auto_decompress=False,  # httpx decodes, once
                compress=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                    connect=timeout.get("pool"),
                ),
                server_hostname=request.extensions.get("sni_hostname"),
            ).__aenter__()
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions=extensions,
        )


class _Body(httpx.AsyncByteStream):
    """The answer's body, read in one piece (httpx reads every answer of ours whole anyway):
    ~0.3 ms less CPU for a 450 KB answer than httpx-aiohttp's 16 KB chunks, each through
    four async iterators, joined again by httpx. Read errors are translated as the
    request's are."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _translated():
            body = await self._response.read()
        if body:
            yield body

    async def aclose(self) -> None:
        with _translated():
            await self._response.__aexit__(None, None, None)


@contextmanager
def _translated() -> Iterator[None]:
    """Raise aiohttp's errors (raw, or as httpx-aiohttp mapped them) as the httpx error that
    says the same about the request."""
    try:
        yield
    except (httpx.TransportError, aiohttp.ClientError) as exc:
        cause = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
        if not isinstance(cause, aiohttp.ClientError):
            raise  # httpx's own error, already what it says
        raise _httpx_error(cause)(str(cause) or type(cause).__name__) from cause


def _httpx_error(exc: aiohttp.ClientError) -> type[httpx.TransportError]:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # a free connection or a connect
        return httpx.ConnectTimeout
    if isinstance(exc, aiohttp.ServerTimeoutError):  # the answer, once sent
        return httpx.ReadTimeout
    if isinstance(exc, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        return httpx.ProxyError
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS: nothing was sent
        return httpx.ConnectError
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol
    if isinstance(exc, aiohttp.ClientPayloadError):  # the body broke off
        return httpx.ReadError
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError  # closed without an answer, or a malformed one
    return httpx.NetworkError  # a connection error mid-request: it may have been received
