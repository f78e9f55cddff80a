"""The one send step: every upstream request goes through :class:`Upstream`, which translates
httpx exceptions and upstream error answers into :mod:`app.errors`, once.

Error bodies are read as RFC 7644 §3.12 (``status`` as a string or a number, ``scimType``,
``detail``) or as Descope management errors (``errorCode``, ``errorDescription``,
``errorMessage``). Messages name the method and path, never headers or credentials.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import lru_cache, partial
from typing import Any, Final, Protocol
from urllib.parse import urlencode

import httpx
import orjson

from app.adapters.speculation import SPECULATION
from app.adapters.unchanged import LastAnswer
from app.errors import (
    GatewayError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_from_status,
)
from app.resilience import Resilience, current_scope
from app.resilience.retry import (
    HONOURS_RETRY_AFTER,
    NOT_SENT,
    RETRY_STATUSES,
    is_idempotent,
    retry_after_seconds,
)

JSON_TYPES = ("application/json", "application/scim+json")
SCIM_JSON = "application/scim+json"
ACCEPT: Final = f"{SCIM_JSON}, application/json"
"""The ``Accept`` of every upstream request (the gateway's clients send it by default)."""
Decoder = Callable[[bytes], Any]
"""Reads a JSON body (``orjson.loads`` unless a caller knows the shape to expect)."""


# -- observation hooks (app/observability sets them per request; adapters never import it) --


class UpstreamObserver(Protocol):
    """Told about every upstream request; may add headers (the request id) to each."""

    def headers(self) -> Mapping[str, str]: ...

    def observe(self, tenant: str, method: str, url: str, status: str, seconds: float) -> None:
        """``status`` is the HTTP status code, or ``timeout`` / ``unreachable``."""


UPSTREAM_OBSERVER: ContextVar[UpstreamObserver | None] = ContextVar(
    "scim_gateway_upstream_observer", default=None
)


class UpstreamSpan(Protocol):
    """One upstream attempt being traced."""

    def end(self, status: str) -> None:
        """``status`` is the HTTP status code, or ``timeout`` / ``unreachable`` / ``cancelled``."""


class UpstreamTracer(Protocol):
    """Opens a span for every upstream attempt (only set when ``[tracing]`` is enabled)."""

    def start(self, tenant: str, request: httpx.Request) -> UpstreamSpan:
        """Open the attempt's span; may add headers (``traceparent``) to ``request``."""


UPSTREAM_TRACER: ContextVar[UpstreamTracer | None] = ContextVar(
    "scim_gateway_upstream_tracer", default=None
)


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower()


def error_detail(body: bytes) -> tuple[str | None, str | None]:
    """``(detail, scimType)`` of an error body, whatever it holds (it may be empty, or HTML)."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, Mapping):
        return None, None
    detail = data.get("detail") or data.get("errorMessage") or data.get("errorDescription")
    scim_type = data.get("scimType")
    return (
        str(detail)[:500] if detail else None,
        scim_type if isinstance(scim_type, str) else None,
    )


def joined_url(
    base: str | None, url: str, params: Mapping[str, str | int] | None
) -> tuple[str, Mapping[str, str | int] | None]:
    """``(url, params)`` for ``client.build_request``: where it can, the absolute URL httpx
    would make from the client's ``base`` (its ``base_url`` as text, ending in a slash, as
    httpx's path does), a relative ``url`` and ``params``, and no params; else ``url`` and
    ``params`` as given, for httpx to merge. httpx parses a relative URL, the joined path
    and the URL with its query each in turn (~80-200 us a request); this text is parsed once
    (~15-40 us).
    Values are encoded as httpx encodes them (``+`` for a space, every reserved character
    escaped). A ``url`` that is absolute (or might be read so: a scheme, ``//host``), that
    has a query or a fragment, and params of another type than ``str`` or ``int`` are left
    to httpx."""
    if base is None or "?" in url or "#" in url or ":" in url or url.startswith("//"):
        return url, params
    url = base + url.lstrip("/")
    if not params:
        return url, None
    if any(type(value) not in _PLAIN_PARAMS for value in params.values()):
        return url, params
    return f"{url}?{urlencode(params)}", None


_PLAIN_PARAMS = (str, int)  # exactly: httpx writes a bool as "true", urlencode as "True"

_REUSED_URL_LENGTH: Final = 256


def parsed_url(text: str) -> httpx.URL | str:
    """``text`` as an ``httpx.URL``, parsed once per process for the URLs a gateway sends again
    and again (a group, a page of a listing); a longer one (a filter of many terms) as given.
    httpx parses every text URL it is handed (~30-45 us, half of ``build_request``); a URL
    object it takes as it is, and URLs are immutable."""
    return _url(text) if len(text) <= _REUSED_URL_LENGTH else text


@lru_cache(maxsize=1024)
def _url(text: str) -> httpx.URL:
    return httpx.URL(text)


class Upstream:
    """Sends requests for one tenant over a pooled client it does not own.

    Every attempt passes the tenant's :class:`~app.resilience.Resilience`: its circuit
    breaker, its cap on concurrent requests and, for idempotent requests, its retries; and the
    current operation's deadline and request budget (:mod:`app.resilience.budget`).
    """

    def __init__(
        self, tenant_id: str, client: httpx.AsyncClient, resilience: Resilience | None = None
    ) -> None:
        self.tenant_id = tenant_id
        self.client = client
        self.resilience = resilience or Resilience()
        base = client.base_url
        # Relative URLs are joined to this text (joined_url); None: httpx joins them.
        plain = base.is_absolute_url and not base.query and not base.fragment
        # httpx keeps a base's path ending in "/", but writes "http://host/" as "http://host".
        self._base = str(base).removesuffix("/") + "/" if plain else None
        # Sent with each request unless the client sends it already, as the gateway's do:
        # httpx would swap the client's header for the same one (~8 us a request).
        self._accept = client.headers.get("accept") != ACCEPT

    def _fail(self, error: GatewayError) -> GatewayError:
        return error.for_tenant(self.tenant_id)

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        decode: Decoder | None = None,
    ) -> Any:
        """Send one request; return its JSON body, or ``None`` when it has none (204).

        ``idempotent`` marks a POST that only reads (``/.search``, a token request) as safe to
        retry; by default only GET, HEAD and OPTIONS are. ``decode`` reads a JSON body in
        place of ``orjson.loads`` (it raises ``orjson.JSONDecodeError`` on malformed JSON).
        """
        all_headers = {"Accept": ACCEPT} if self._accept else {}
        content: bytes | None = None
        if json is not None:
            content = orjson.dumps(json)
            all_headers["Content-Type"] = SCIM_JSON
        all_headers.update(headers or {})
        observer = UPSTREAM_OBSERVER.get()
        if observer is not None:
            all_headers.update(observer.headers())
        target, rest = joined_url(self._base, url, params)
        request = self.client.build_request(
            method, parsed_url(target), headers=all_headers, params=rest, content=content, data=data
        )
        where = f"{method} {url}"
        safe = is_idempotent(method) if idempotent is None else idempotent
        if isinstance(decode, LastAnswer):  # a read whose last answer is kept
            key = (method, str(request.url), content)
            speculation = SPECULATION.get()
            if speculation is not None and safe:
                sent = partial(self._sent, request, where, safe)
                return await speculation.read(key, decode, sent)
            decode = partial(decode.answer, key)
        return await self._sent(request, where, safe, decode)

    async def _sent(
        self,
        request: httpx.Request,
        where: str,
        safe: bool,
        decode: Decoder | None,
        extensions: Mapping[str, Any] | None = None,
    ) -> Any:
        """``request`` sent within the operation's deadline (``extensions``: httpx's)."""
        if extensions:
            request.extensions.update(extensions)
        scope = current_scope()
        remaining = scope.remaining() if scope is not None else None
        if remaining is None:
            return await self._attempts(request, where, safe, decode)
        if remaining <= 0:
            raise self._fail(UpstreamTimeout(f"the request deadline passed before {where}"))
        try:
            async with asyncio.timeout(remaining):
                return await self._attempts(request, where, safe, decode)
        except TimeoutError as exc:
            raise self._fail(
                UpstreamTimeout(f"upstream did not answer {where} within the request deadline")
            ) from exc

    async def _attempts(
        self, request: httpx.Request, where: str, safe: bool, decode: Decoder | None = None
    ) -> Any:
        """Send ``request`` until it succeeds, fails for good, or may not be sent again."""
        policy = self.resilience.retry
        attempt = 0
        while True:
            attempt += 1
            response, error, retryable = await self._attempt(request, where, safe)
            retry_after: float | None = None
            if response is not None:
                if not (safe and response.status_code in RETRY_STATUSES):
                    return self.read(response, where, decode)
                error = self._error_of(response)
                retryable = True
                if response.status_code in HONOURS_RETRY_AFTER:
                    retry_after = retry_after_seconds(response.headers.get("retry-after"))
            assert error is not None
            delay = policy.delay(attempt, retry_after) if policy.may_retry(attempt) else None
            if not retryable or delay is None or not _time_left_for(delay):
                raise error
            await asyncio.sleep(delay)

    async def _attempt(
        self, request: httpx.Request, where: str, safe: bool
    ) -> tuple[httpx.Response | None, GatewayError | None, bool]:
        """One attempt: the answer, or the translated transport error and whether it may be
        retried (any for an idempotent request; otherwise only one that was never sent)."""
        scope = current_scope()
        if scope is not None:
            try:
                scope.spend()
            except GatewayError as exc:
                raise self._fail(exc) from None
        breaker = self.resilience.breaker
        probe = False
        if breaker is not None:
            try:
                probe = breaker.before()
            except GatewayError as exc:
                raise self._fail(exc) from None
        observer = UPSTREAM_OBSERVER.get()
        tracer = UPSTREAM_TRACER.get()
        started = time.perf_counter()
        span = tracer.start(self.tenant_id, request) if tracer is not None else None
        try:
            semaphore = self.resilience.concurrency
            if semaphore is None:
                response = await self.client.send(request)
            else:
                async with semaphore:
                    response = await self.client.send(request)
        except httpx.TimeoutException as exc:
            self._observe(observer, span, where, "timeout", started)
            if breaker is not None:
                breaker.failed()
            error: GatewayError = UpstreamTimeout(f"upstream timed out on {where}")
            error.__cause__ = exc
            return None, self._fail(error), safe or isinstance(exc, NOT_SENT)
        except (httpx.TransportError, httpx.DecodingError) as exc:
            # ConnectError, ReadError, RemoteProtocolError, ...: the directory is unreachable.
            self._observe(observer, span, where, "unreachable", started)
            if breaker is not None:
                breaker.failed()
            kind = type(exc).__name__
            error = UpstreamUnavailable(f"upstream unreachable on {where} ({kind})")
            error.__cause__ = exc
            return None, self._fail(error), safe or isinstance(exc, NOT_SENT)
        except BaseException:
            if span is not None:
                span.end("cancelled")
            if breaker is not None:
                breaker.abandoned(probe)
            raise
        self._observe(observer, span, where, str(response.status_code), started)
        if breaker is not None:
            if response.status_code >= 500:
                breaker.failed()
            else:
                breaker.succeeded()
        return response, None, False

    def _observe(
        self,
        observer: UpstreamObserver | None,
        span: UpstreamSpan | None,
        where: str,
        status: str,
        started: float,
    ) -> None:
        if span is not None:
            span.end(status)
        if observer is not None:
            method, _, url = where.partition(" ")
            observer.observe(self.tenant_id, method, url, status, time.perf_counter() - started)

    def _error_of(self, response: httpx.Response) -> GatewayError:
        detail, scim_type = error_detail(response.content)
        return self._fail(error_from_status(response.status_code, detail, scim_type))

    def read(self, response: httpx.Response, where: str, decode: Decoder | None = None) -> Any:
        """The JSON body of a 2xx answer, or the translated error of any other."""
        if not response.is_success:
            raise self._error_of(response)
        if not response.content:
            return None
        media = _media_type(response)
        if media not in JSON_TYPES:
            raise self._fail(
                UpstreamError(f"upstream sent {media or 'no content type'} on {where}")
            )
        try:
            return (decode or orjson.loads)(response.content)
        except orjson.JSONDecodeError as exc:
            raise self._fail(UpstreamError(f"upstream sent malformed JSON on {where}")) from exc


def _time_left_for(delay: float) -> bool:
    """Whether the operation's deadline leaves room to wait ``delay`` and try again."""
    scope = current_scope()
    remaining = scope.remaining() if scope is not None else None
    return remaining is None or delay < remaining
