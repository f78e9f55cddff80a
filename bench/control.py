"""Child side of an emulator process: control routes and per-request service times.

:class:`Instrumented` wraps one emulator's ASGI app. Requests under ``/__bench/`` never reach
the emulator (so they are not counted); every other request is timed twice: when it arrives
(before the injected latency) and while the emulator itself works on it (after the latency),
so a benchmark can tell the waves of sequential upstream calls apart and the emulator's own
processing from the latency it was told to add.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.emulators.common import EmulatorMiddleware, Faults, RequestLog

CONTROL_PREFIX = "/__bench/"


class Emulator(Protocol):
    app: EmulatorMiddleware
    log: RequestLog
    faults: Faults


@dataclass(slots=True)
class Timing:
    key: str
    arrived: float
    started: float
    ended: float = 0.0


class _ServiceTimer:
    """Sits inside the emulator's middleware, after counting and latency: the work itself."""

    def __init__(self, app: ASGIApp, sink: list[Timing], key: Any) -> None:
        self.app = app
        self.sink = sink
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timing = Timing(self.key(scope), scope.get("bench.arrived", 0.0), time.perf_counter())

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                timing.ended = time.perf_counter()

        try:
            await self.app(scope, receive, timed_send)
        finally:
            if not timing.ended:
                timing.ended = time.perf_counter()
            self.sink.append(timing)


class Instrumented:
    """The emulator's app, plus ``GET /__bench/stats``, ``POST /__bench/reset`` and
    ``POST /__bench/latency?seconds=``, ``POST /__bench/faults?error_rate=&status=``."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.timings: list[Timing] = []
        middleware = emulator.app
        middleware.app = _ServiceTimer(middleware.app, self.timings, middleware.route_key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CONTROL_PREFIX):
            await self._control(scope, send)
            return
        if scope["type"] == "http":
            scope["bench.arrived"] = time.perf_counter()
        await self.emulator.app(scope, receive, send)

    async def _control(self, scope: Scope, send: Send) -> None:
        action = scope["path"].removeprefix(CONTROL_PREFIX)
        query = parse_qs(scope.get("query_string", b"").decode())
        body: Any = {"ok": True}
        if action == "stats":
            body = {
                "pid": os.getpid(),
                "counts": dict(self.emulator.log.counts),
                "timings": [[t.key, t.arrived, t.started, t.ended] for t in self.timings],
            }
        elif action == "reset":
            self.emulator.log.reset()
            self.timings.clear()
        elif action == "latency":
            self.emulator.faults.latency = float(query.get("seconds", ["0"])[0])
        elif action == "faults":
            self.emulator.faults.error_rate = float(query.get("error_rate", ["0"])[0])
            self.emulator.faults.error_status = int(query.get("status", ["503"])[0])
        else:
            body = {"error": f"unknown control {action!r}"}
        payload = orjson.dumps(body)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
