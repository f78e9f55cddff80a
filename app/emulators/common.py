"""What every emulator shares: request counting, fault injection and SCIM error bodies.

:class:`RequestLog` and :class:`Faults` are plain objects a test holds on to;
:class:`EmulatorMiddleware` is the ASGI wrapper that feeds the one and obeys the other, before
the request reaches a route. Counting happens first, so a request the faults refuse is counted
too: the client did send it.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

RouteKey = Callable[[Scope], str]
"""Turns a request scope into its counting key, ``"<METHOD> <route template>"``."""


class ScimHTTPError(Exception):
    """A SCIM error answer (RFC 7644 §3.12), raised by store, filter and patch code."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def scim_error_body(
    status: int,
    detail: str | None = None,
    scim_type: str | None = None,
    *,
    status_as_text: bool = True,
) -> dict[str, Any]:
    """The error body of RFC 7644 §3.12; ``status`` is a string there, a number for Descope."""
    body: dict[str, Any] = {
        "schemas": [ERROR_SCHEMA],
        "status": str(status) if status_as_text else status,
    }
    if scim_type is not None:
        body["scimType"] = scim_type
    if detail is not None:
        body["detail"] = detail
    return body


class RequestLog:
    """How many requests each route template received, e.g. ``counts["GET /scim/v2/Groups"]``.

    ``queries`` keeps each request's key and raw query string in arrival order, so a test can
    check what a batched call asked for.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.queries: list[tuple[str, str]] = []

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def record(self, key: str, query: str = "") -> None:
        self.counts[key] += 1
        self.queries.append((key, query))

    def reset(self) -> None:
        self.counts.clear()
        self.queries.clear()


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: str
    status: int = 0
    retry_after: float | None = None


class Faults:
    """Misbehaviour to inject, settable while the emulator runs.

    ``latency`` delays every request; ``error_rate`` fails that share of requests (seeded, so
    runs repeat) with ``error_status``. The ``*_next`` methods queue one-shot faults that the
    next requests consume in the order they were queued.
    """

    def __init__(self, seed: int = 0) -> None:
        self.latency = 0.0
        self.error_rate = 0.0
        self.error_status = 503
        self._seed = seed
        self.rng = random.Random(seed)
        self._queue: deque[_Fault] = deque()

    def fail_next(self, n: int, status: int, retry_after: float | None = None) -> None:
        """The next ``n`` requests answer ``status`` with a SCIM error body."""
        self._queue.extend(_Fault("fail", status, retry_after) for _ in range(n))

    def drop_next(self, n: int = 1) -> None:
        """The next ``n`` requests lose their connection before an answer arrives."""
        self._queue.extend(_Fault("drop") for _ in range(n))

    def malformed_next(self, n: int = 1) -> None:
        """The next ``n`` requests answer 200 with a body that is not valid JSON."""
        self._queue.extend(_Fault("malformed") for _ in range(n))

    def wrong_content_type_next(self, n: int = 1) -> None:
        """The next ``n`` requests answer 200 with an HTML page, as a misrouted proxy would."""
        self._queue.extend(_Fault("html") for _ in range(n))

    def pass_next(self, n: int) -> None:
        """The next ``n`` requests are served as usual: aims the faults queued after them at
        later requests (say, the second call of a query)."""
        self._queue.extend(_Fault("pass") for _ in range(n))

    def unauthorized_next(self, n: int = 1) -> None:
        """The next ``n`` requests answer 401 with an empty body (an expired credential)."""
        self._queue.extend(_Fault("unauthorized") for _ in range(n))

    @property
    def pending(self) -> int:
        return len(self._queue)

    def reset(self) -> None:
        self.latency = 0.0
        self.error_rate = 0.0
        self.error_status = 503
        self.rng = random.Random(self._seed)
        self._queue.clear()

    def take(self) -> _Fault | None:
        """The fault for the request now arriving, if any."""
        if self._queue:
            return self._queue.popleft()
        if self.error_rate and self.rng.random() < self.error_rate:
            return _Fault("fail", self.error_status)
        return None


def starlette_route_key(routes: list[Route]) -> RouteKey:
    """Key requests by the template of the Starlette route that matches them (``Route.path``)."""

    def key(scope: Scope) -> str:
        for route in routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return f"{scope['method']} {route.path}"
        return f"{scope['method']} {scope['path']}"

    return key


class EmulatorMiddleware:
    """Counts each HTTP request under its route template, then applies :class:`Faults`.

    A dropped connection is emulated by starting the answer and then raising
    ``httpx.RemoteProtocolError``: over ``httpx.ASGITransport`` the client sees exactly the
    transport error a real disconnect gives, and a real server (uvicorn) aborts the half-sent
    response, which its client sees as a disconnect too.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        log: RequestLog,
        faults: Faults,
        route_key: RouteKey,
        content_type: str = "application/json",
        status_as_text: bool = True,
    ) -> None:
        self.app = app
        self.log = log
        self.faults = faults
        self.route_key = route_key
        self.content_type = content_type.encode()
        self.status_as_text = status_as_text

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.log.record(self.route_key(scope), scope.get("query_string", b"").decode())
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.take()
        if fault is None or fault.kind == "pass":
            await self.app(scope, receive, send)
            return
        if fault.kind == "drop":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        status, headers, body = self._answer(fault)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _answer(self, fault: _Fault) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        json_type = [(b"content-type", self.content_type)]
        if fault.kind == "malformed":
            return 200, json_type, b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Lis'
        if fault.kind == "html":
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            return 200, [(b"content-type", b"text/html; charset=utf-8")], page
        if fault.kind == "unauthorized":
            return 401, [(b"content-length", b"0")], b""
        headers = list(json_type)
        if fault.retry_after is not None:
            headers.append((b"retry-after", _retry_after(fault.retry_after).encode()))
        body = scim_error_body(fault.status, "Injected fault", status_as_text=self.status_as_text)
        return fault.status, headers, orjson.dumps(body)


def _retry_after(seconds: float) -> str:
    """RFC 9110 §10.2.3 wants whole seconds; keep fractions the tests use short as they are."""
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def json_bytes(body: Any) -> bytes:
    return orjson.dumps(body)


def isoformat_z(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and a ``Z``, as RFC 7643 §2.3.5 examples write it."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def comma_list(text: str | None) -> set[str]:
    """``attributes``/``excludedAttributes`` (RFC 7644 §3.4.2.5) as lower-cased names."""
    return {part.strip().lower() for part in (text or "").split(",") if part.strip()}


def bearer_token(request: Request) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1), or ``""``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def read_json(request: Request) -> Any:
    """The JSON body; 400 ``invalidSyntax`` (RFC 7644 §3.12) when it does not parse."""
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise ScimHTTPError(400, "The body is not valid JSON", "invalidSyntax") from exc
