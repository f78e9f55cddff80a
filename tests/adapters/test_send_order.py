"""Sends asked for together leave slowest backend first (app/adapters/send_order.py).

Two tenants' send steps over one HTTP app that records the order requests reach it: the slow
tenant's backend answers 60 ms later than the fast one's, which the send step learns from
their answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.adapters.http import Upstream
from app.adapters.send_order import SendOrder, smoothed


class Backends:
    """An ASGI app for both tenants: ``/slow/...`` answers after 60 ms."""

    def __init__(self) -> None:
        self.arrived: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        path: str = scope["path"]
        self.arrived.append(path)
        if path.startswith("/slow/"):
            await asyncio.sleep(0.06)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})


async def _pair(app: Backends, order: SendOrder) -> tuple[httpx.AsyncClient, Upstream, Upstream]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
    return client, Upstream("fast", client, order=order), Upstream("slow", client, order=order)


async def test_the_slower_backend_is_sent_first_once_known() -> None:
    app, order = Backends(), SendOrder()
    client, fast, slow = await _pair(app, order)
    async with client:
        # Unknown yet: as asked.
        await asyncio.gather(fast.send("GET", "/fast/1"), slow.send("GET", "/slow/1"))
        assert app.arrived == ["/fast/1", "/slow/1"]
        assert slow.answer_time > fast.answer_time > 0
        app.arrived.clear()
        await asyncio.gather(fast.send("GET", "/fast/2"), slow.send("GET", "/slow/2"))
        assert app.arrived == ["/slow/2", "/fast/2"]


async def test_sends_a_turn_apart_are_ordered_together() -> None:
    """A page read asked for in the resolver's turn, and reads from tasks that start on the
    next turn, go out in one order."""
    app, order = Backends(), SendOrder()
    client, fast, slow = await _pair(app, order)
    async with client:
        await asyncio.gather(fast.send("GET", "/fast/1"), slow.send("GET", "/slow/1"))
        app.arrived.clear()

        async def later() -> Any:
            await asyncio.sleep(0)
            return await slow.send("GET", "/slow/2")

        await asyncio.gather(fast.send("GET", "/fast/2"), later())
        assert app.arrived == ["/slow/2", "/fast/2"]


async def test_a_send_cancelled_while_waiting_does_not_hold_the_others() -> None:
    app, order = Backends(), SendOrder()
    client, fast, slow = await _pair(app, order)
    async with client:
        waiting = asyncio.ensure_future(slow.send("GET", "/slow/1"))
        other = asyncio.ensure_future(fast.send("GET", "/fast/1"))
        await asyncio.sleep(0)
        waiting.cancel()
        assert await asyncio.wait_for(other, 1) == {}
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert app.arrived == ["/fast/1"]
        assert await fast.send("GET", "/fast/2") == {}  # the next round starts afresh


def test_the_answer_time_follows_recent_answers() -> None:
    assert smoothed(0.0, 0.5) == 0.5  # the first answer is the estimate
    estimate = 0.5
    for _ in range(20):
        estimate = smoothed(estimate, 0.01)
    assert 0.01 < estimate < 0.02
