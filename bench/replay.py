"""Child of ``python -m bench.instructions``: answers one query in process, over recorded
upstream answers, a given number of times.

Run as a script with the tree to measure first on ``PYTHONPATH``, so that ``app`` is that
tree's: it imports nothing else of the project. The gateway's ASGI app is called directly
(no sockets); every upstream answer is read once from the in-process emulators, then replayed
from memory, so what is counted is the gateway's own work on the same bytes every time.

    python bench/replay.py QUERY GROUPS MEMBERS USERS ANSWERS

A QUERY that declares ``$id`` (scenario 3's ``node(id:)``) is sent with the id of acme's
first group, read first like any other answer.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import httpx
import orjson
from asgi_lifespan import LifespanManager

from app.config import Limits, Settings
from app.demo import demo_settings, demo_transports
from app.emulators import build_demo
from app.main import create_app
from app.runtime import tune_gc

WARM = 3
"""Answers before the counted ones (plans compiled, sizes learned)."""
FIRST_GROUP = '{ tenant(id: "acme") { groups(first: 1) { nodes { id } } } }'


class Replay(httpx.AsyncBaseTransport):
    """Each distinct request is sent once; after that its answer comes from memory."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.saved: dict[tuple[str, str, bytes], tuple[int, Any, bytes]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, str(request.url), request.content)
        if key not in self.saved:
            response = await self.inner.handle_async_request(request)
            body = await response.aread()
            self.saved[key] = (response.status_code, response.headers.raw, body)
        status, headers, body = self.saved[key]
        return httpx.Response(status, headers=headers, content=body)


async def answer(app: Any, body: bytes) -> bytes:
    """One POST /graphql through the app's ASGI interface."""
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            await asyncio.Event().wait()  # the client never disconnects
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"gateway"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def main(query: str, groups: int, members: int, users: int, answers: int) -> None:
    demo = build_demo(groups_per_tenant=groups, members_per_group=members, users_per_tenant=users)
    base, env = demo_settings()
    transports = {name: Replay(t) for name, t in demo_transports(demo).items()}
    # The first answer reads the in-process emulators, ~50x slower under callgrind: no
    # deadline or timeout may cut it short.
    tenants = [t.model_copy(update={"timeout_seconds": 300.0}) for t in base.tenants]
    limits = Limits(request_deadline_seconds=600)
    app = create_app(Settings(tenants=tenants, limits=limits), env=env, transports=transports)
    tune_gc()
    async with LifespanManager(app) as manager:
        variables: dict[str, Any] = {}
        if "$id" in query:
            first = orjson.loads(await answer(manager.app, orjson.dumps({"query": FIRST_GROUP})))
            variables["id"] = first["data"]["tenant"]["groups"]["nodes"][0]["id"]
        body = orjson.dumps({"query": query, "variables": variables})
        for _ in range(WARM + answers):
            out = await answer(manager.app, body)
            if b'"errors"' in out:
                raise SystemExit(f"the query failed: {out[:500]!r}")


if __name__ == "__main__":
    text = sys.argv[1]
    groups, members, users, answers = map(int, sys.argv[2:6])
    asyncio.run(main(text, groups, members, users, answers))
