"""Which tenant's whole read leaves first when one request reads several tenants at once.

``tenants { groups { nodes { members { groups } } } }`` asks every tenant for its whole
membership alongside its page (``TenantLoaders.expect_membership``), in the tenants' order,
and each send costs the gateway a few hundred microseconds of CPU before the next can leave.
The answer waits for the slowest tenant, so its read should leave first. A tenant's read
therefore waits, within one request, for the reads of tenants whose whole reads have answered
much more slowly (:class:`AnswerTimes`) to have left: one or two turns of the event loop, and
never for a read that is not on its way. A lone tenant, tenants alike in speed, and tenants
never timed yet keep their order and wait for nothing.
"""

from __future__ import annotations

import asyncio
from typing import Final

SLOWER: Final = 2.0
"""A tenant's read waits for another's only if that one's answers took this many times as
long as its own ..."""
MARGIN: Final = 0.010
"""... and at least this many seconds longer: a millisecond's head start is not worth a turn."""
WEIGHT: Final = 0.3
"""How much one answer moves a tenant's smoothed time (the rest is its history)."""


class AnswerTimes:
    """A tenant's smoothed time to answer its whole read, in seconds (0 until timed)."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds = 0.0

    def observe(self, seconds: float) -> None:
        if self.seconds:
            self.seconds += WEIGHT * (seconds - self.seconds)
        else:
            self.seconds = seconds


class SendOrder:
    """One request's whole reads that were asked for and have not left yet."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[float, asyncio.Future[None]]] = {}

    def announce(self, tenant_id: str, expected: float) -> None:
        """``tenant_id``'s read is about to be sent; it usually answers in ``expected`` s."""
        if tenant_id not in self._waiting:
            left = asyncio.get_running_loop().create_future()
            self._waiting[tenant_id] = (expected, left)

    def slower_than(self, tenant_id: str, expected: float) -> list[asyncio.Future[None]]:
        """What ``tenant_id``'s read waits for: the reads of much slower tenants still here
        (none while its own speed is unknown: ``expected`` 0)."""
        if expected <= 0:
            return []
        return [
            left
            for other, (seconds, left) in self._waiting.items()
            if other != tenant_id
            and not left.done()
            and seconds >= SLOWER * expected
            and seconds - expected >= MARGIN
        ]

    async def after_slower(self, tenant_id: str, expected: float) -> None:
        """Return once the much slower tenants' reads of this request have left."""
        for left in self.slower_than(tenant_id, expected):
            await asyncio.shield(left)  # a cancelled waiter must not cancel what others wait on

    def left(self, tenant_id: str) -> None:
        """``tenant_id``'s read is on its way (or will never be): nobody waits for it now."""
        held = self._waiting.get(tenant_id)
        if held is not None and not held[1].done():
            held[1].set_result(None)
