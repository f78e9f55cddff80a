"""Upstream requests asked for at the same moment leave slowest backend first.

A query over several tenants asks for their reads within an event-loop turn or two, and each
send costs the gateway some CPU before the next can start (building the request, httpx,
aiohttp, the write: ~0.3-0.5 ms). In the order the resolvers ran, the last tenant's request
left ~1.5-2 ms after the first; when that tenant is the slowest, the whole answer waits those
milliseconds longer. :class:`SendOrder` holds the sends asked for within :data:`TICKS` turns
of the loop and lets them go in order of their backend's recent answer time, slowest first,
so the longest wait starts first. Sends of backends with no answer yet, or equally fast, keep
the order they were asked in.

The hold costs a lone request two turns of the loop (tens of microseconds), never a wait on
the clock.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Final

TICKS: Final = 2
"""Turns of the loop a send waits for others: a page read starts in the resolver's turn, the
reads that go with it (``expect_membership``) in tasks that start on the next."""

SMOOTHING: Final = 0.3
"""Weight of the newest answer time in a backend's running estimate."""


class SendOrder:
    """Lets sends asked for within :data:`TICKS` loop turns go, slowest expected first."""

    def __init__(self, ticks: int = TICKS) -> None:
        self._ticks = ticks
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._asked = itertools.count()

    async def turn(self, expected: float) -> None:
        """Wait for this send's turn; ``expected`` is its backend's answer time (seconds, 0
        when unknown)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests run one each): nothing is pending
            self._loop, self._waiting = loop, []
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting.append((-expected, next(self._asked), turn))
        if len(self._waiting) == 1:
            loop.call_soon(self._release, self._ticks)
        await turn

    def _release(self, ticks: int) -> None:
        if ticks > 1:
            assert self._loop is not None
            self._loop.call_soon(self._release, ticks - 1)
            return
        waiting, self._waiting = sorted(self._waiting), []
        for _, _, turn in waiting:  # woken, and so sent, in this order
            if not turn.done():  # else cancelled meanwhile
                turn.set_result(None)


def smoothed(estimate: float, seconds: float) -> float:
    """A backend's answer time, updated with one more answer."""
    return seconds if estimate == 0.0 else estimate + SMOOTHING * (seconds - estimate)


SEND_ORDER: Final = SendOrder()
"""The process's one order: every tenant's sends share it."""
