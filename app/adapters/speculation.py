"""Answering a read from its last answer while the read itself is on the wire.

Between two changes of a directory, a tenant's whole membership and first page come back as
the same bytes request after request (:mod:`app.adapters.unchanged` keeps them decoded). Yet
everything the gateway makes of them (members, their groups, the completed answer: 7-15 ms
of CPU a tenant on a slow host) waited for the read's round trip, then ran after it, on the
answer's critical path.

A query therefore runs with a :class:`Speculation` (``app.schema.limits``). A read whose
request was answered with the same bytes the last two times running (``LastAnswer.assumed``)
still goes out, but the send step hands its caller that kept answer at once, once the read
is on its way; the operation then runs on while the read is on the wire. When the operation is
done, every such read is awaited (:meth:`Speculation.confirmed`): if each came back with the
very bytes assumed (the keeper hands back the same object only then), the answer stands, as
it is exactly what the operation makes of those bytes. If any differs or fails, the
operation runs again (:meth:`Speculation.replaying`), its reads of the same requests
answered by what came back, never sent twice. Nothing is answered that the backends did not
just send; a change only costs the CPU spent ahead.

Never for mutations, and only in the gateway's own execution path (not under tracing).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from functools import partial
from typing import Any, Final

from app.adapters.unchanged import NOTHING, LastAnswer

TICKS_TO_THE_WIRE: Final = 12
"""Event-loop turns a read answered ahead is given to reach the socket before its caller goes
on with the work ahead: through the gateway's aiohttp transport it was written one turn after
it was asked for (measured against the bench's emulators), more on a new connection. httpx's
own transport says when it has written a request (httpcore's ``trace`` extension), which ends
the wait sooner. Too few turns only delay the read by the work done ahead."""

_SENT: Final = "http11.send_request_body.complete"


class ReadClock:
    """Times a read from its send to its answer for ``observe``, also when the caller got
    an assumed answer first (:attr:`deferred`: the real answer comes later)."""

    __slots__ = ("deferred", "observe")

    def __init__(self, observe: Callable[[float], None]) -> None:
        self.observe = observe
        self.deferred = False


READ_CLOCK: ContextVar[ReadClock | None] = ContextVar("scim_gateway_read_clock", default=None)


class _Read:
    """A read of this operation: what was assumed of it (or :data:`NOTHING`), and its
    answer (a task while on the wire, a future once known)."""

    __slots__ = ("answer", "assumed", "keeper", "sent")

    def __init__(self, keeper: LastAnswer[Any], assumed: Any, answer: asyncio.Future[Any]) -> None:
        self.keeper = keeper
        self.assumed = assumed
        self.answer = answer
        self.sent = False


class Speculation:
    """One operation's reads of kept answers, and which of them were answered ahead (see
    the module's docstring)."""

    def __init__(self) -> None:
        self._reads: dict[Hashable, _Read] = {}
        self._replaying = False

    @property
    def used(self) -> bool:
        """Whether any read was answered ahead."""
        return any(read.assumed is not NOTHING for read in self._reads.values())

    async def read(
        self,
        request: Hashable,
        keeper: LastAnswer[Any],
        send: Callable[[Callable[[bytes], Any], dict[str, Any]], Awaitable[Any]],
    ) -> Any:
        """The answer to ``request``, decoded by ``keeper``. ``send(decode, extensions)``
        sends it (``extensions`` go on the httpx request)."""
        held = self._reads.get(request)
        if held is not None:  # asked again in this operation, or while running it again
            if held.assumed is not NOTHING:
                return held.assumed
            return await asyncio.shield(held.answer)
        decode = partial(keeper.answer, request)
        assumed = NOTHING if self._replaying else keeper.assumed(request)
        if assumed is NOTHING:
            return await self._known(request, keeper, send(decode, {}))
        clock = READ_CLOCK.get()
        began = time.perf_counter()

        async def trace(event: str, info: Any) -> None:
            if event == _SENT:
                read.sent = True

        task = asyncio.ensure_future(send(decode, {"trace": trace}))
        read = self._reads[request] = _Read(keeper, assumed, task)
        if clock is not None:
            clock.deferred = True
            task.add_done_callback(_timer(clock, began))
        for _ in range(TICKS_TO_THE_WIRE):  # the read leaves before the work ahead begins
            if read.sent or task.done():
                break
            await asyncio.sleep(0)
        if task.done():  # answered already: nothing to assume
            read.assumed = NOTHING
            return task.result()
        return assumed

    async def _known(self, request: Hashable, keeper: LastAnswer[Any], sent: Awaitable[Any]) -> Any:
        """A read sent in the ordinary way, its answer (or failure) kept for this operation
        in case it runs again."""
        known: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            answer = await sent
        except Exception as exc:
            known.set_exception(exc)
            known.exception()  # retrieved: raised here, and again if asked again
            raise
        else:
            known.set_result(answer)
            return answer
        finally:
            if known.done():
                self._reads.setdefault(request, _Read(keeper, NOTHING, known))

    async def confirmed(self) -> bool:
        """Whether every read answered ahead came back as assumed (awaits them all)."""
        same = True
        for read in list(self._reads.values()):
            if read.assumed is NOTHING:
                continue
            try:
                answer = await asyncio.shield(read.answer)
            except Exception:
                read.keeper.doubt()
                same = False
                continue
            same = same and answer is read.assumed
        return same

    def replaying(self) -> None:
        """The operation runs again: the reads it made are answered by what came back, and
        nothing more is answered ahead."""
        self._replaying = True
        for read in self._reads.values():
            read.assumed = NOTHING

    def cancel(self) -> None:
        """Let go of reads still on the wire (the operation is over, or was abandoned)."""
        for read in self._reads.values():
            if not read.answer.done():
                read.answer.cancel()
            elif not read.answer.cancelled():
                read.answer.exception()  # retrieved: never "exception was never retrieved"


SPECULATION: ContextVar[Speculation | None] = ContextVar("scim_gateway_speculation", default=None)


def _timer(clock: ReadClock, began: float) -> Callable[[asyncio.Future[Any]], None]:
    """A done callback observing the time from ``began`` to a read's answer."""

    def done(answer: asyncio.Future[Any]) -> None:
        if not answer.cancelled() and answer.exception() is None:
            clock.observe(time.perf_counter() - began)

    return done
