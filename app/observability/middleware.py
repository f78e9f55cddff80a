"""One pure-ASGI middleware per app: request id, metrics and upstream observer in scope, access log.

For each HTTP request it accepts or makes the request id, returns it as ``X-Request-ID``, makes
it (and the app's :class:`Metrics` and upstream observer) current for every task the request
spawns, and logs one structured access line: method, path, status, duration (no query string,
no headers, so never a key).
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.adapters.http import UPSTREAM_OBSERVER, UpstreamObserver
from app.observability.metrics import Metrics, current_metrics
from app.observability.requestid import HEADER, accept_or_make, current_request_id

access_log = logging.getLogger("scim_gateway.access")

_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, observer: UpstreamObserver) -> None:
        self.app = app
        self.metrics = metrics
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_or_make(Headers(scope=scope).get(HEADER))
        tokens = (
            current_request_id.set(request_id),
            current_metrics.set(self.metrics),
            UPSTREAM_OBSERVER.set(self.observer),
        )
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope["path"]
            access_log.log(
                logging.DEBUG if path in _QUIET else logging.INFO,
                "%s %s %s",
                scope["method"],
                path,
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            UPSTREAM_OBSERVER.reset(tokens[2])
            current_metrics.reset(tokens[1])
            current_request_id.reset(tokens[0])
