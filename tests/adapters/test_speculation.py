"""Reads answered from their last answer while on the wire (``app.adapters.speculation``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from app.adapters.speculation import READ_CLOCK, ReadClock, Speculation
from app.adapters.unchanged import NOTHING, LastAnswer
from tests.adapters.test_unchanged import REQUEST, steady


class Wire:
    """A send step whose answers the test lets through one at a time."""

    def __init__(self, *answers: bytes | Exception) -> None:
        self.answers = list(answers)
        self.sent = 0
        self.cancelled = 0
        self.release = asyncio.Event()

    async def __call__(self, decode: Callable[[bytes], Any], extensions: dict[str, Any]) -> Any:
        self.sent += 1
        answer = self.answers.pop(0)
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if isinstance(answer, Exception):
            raise answer
        return decode(answer)


# -- one operation's reads ------------------------------------------------------------------------


async def test_a_steady_read_is_answered_at_once_and_confirmed_when_it_comes_back_the_same() -> (
    None
):
    keeper = steady()
    wire = Wire(b"[1, 2]")
    speculation = Speculation()
    answer = await speculation.read(REQUEST, keeper, wire)
    assert answer == [1, 2] and wire.sent == 1
    assert speculation.used
    wire.release.set()
    assert await speculation.confirmed()


@pytest.mark.parametrize("comes_back", [b"[1, 2, 3]", LookupError("upstream 503")])
async def test_a_read_that_comes_back_otherwise_is_not_confirmed_and_answers_the_rerun(
    comes_back: bytes | Exception,
) -> None:
    keeper = steady()
    wire = Wire(comes_back)
    speculation = Speculation()
    assert await speculation.read(REQUEST, keeper, wire) == [1, 2]
    wire.release.set()
    assert not await speculation.confirmed()
    speculation.replaying()
    assert not speculation.used
    if isinstance(comes_back, Exception):
        with pytest.raises(LookupError):
            await speculation.read(REQUEST, keeper, wire)
        assert keeper.assumed(REQUEST) is NOTHING  # doubted
    else:
        assert await speculation.read(REQUEST, keeper, wire) == [1, 2, 3]
    assert wire.sent == 1  # what came back answers the rerun: never sent twice


async def test_reads_not_assumed_are_sent_once_and_answer_the_rerun_too() -> None:
    keeper: LastAnswer[Any] = LastAnswer(orjson.loads)  # never answered: nothing to assume
    wire = Wire(b"[7]")
    wire.release.set()
    speculation = Speculation()
    assert await speculation.read(REQUEST, keeper, wire) == [7]
    assert not speculation.used
    speculation.replaying()
    assert await speculation.read(REQUEST, keeper, wire) == [7]
    assert wire.sent == 1


async def test_an_answer_that_arrives_before_the_work_ahead_is_used_as_it_is() -> None:
    keeper = steady()
    wire = Wire(b"[9]")
    wire.release.set()  # answers within the turns the read is given to leave
    speculation = Speculation()
    assert await speculation.read(REQUEST, keeper, wire) == [9]
    assert not speculation.used
    assert await speculation.confirmed()


async def test_a_read_answered_ahead_is_timed_from_its_send_to_its_real_answer() -> None:
    seen: list[float] = []
    clock = ReadClock(seen.append)
    token = READ_CLOCK.set(clock)
    wire = Wire(b"[1, 2]")
    speculation = Speculation()
    try:
        await speculation.read(REQUEST, steady(), wire)
    finally:
        READ_CLOCK.reset(token)
    assert clock.deferred and seen == []  # its caller must not time the assumed answer
    await asyncio.sleep(0.02)
    wire.release.set()
    assert await speculation.confirmed()
    await asyncio.sleep(0)
    assert len(seen) == 1 and seen[0] >= 0.02


async def test_reads_still_on_the_wire_are_cancelled_with_the_operation() -> None:
    wire = Wire(b"[1, 2]")
    speculation = Speculation()
    await speculation.read(REQUEST, steady(), wire)
    speculation.cancel()
    await asyncio.sleep(0)
    assert wire.cancelled == 1
