"""ManyLoader: the batching contract the member loaders rely on, one future per call."""

from __future__ import annotations

import asyncio

import pytest

from app.errors import NotFound
from app.loaders import ManyLoader


class Backend:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, keys: list[str]) -> list[str | Exception]:
        self.batches.append(keys)
        if self.gate is not None:
            await self.gate.wait()
        return [NotFound(k) if k.startswith("x") else k.upper() for k in keys]


async def _held_read(
    keys: list[str],
) -> tuple[Backend, ManyLoader[str, str], asyncio.Future[list[str | Exception]]]:
    """A loader whose backend holds each batch until ``backend.gate`` is set, and a caller
    of ``keys`` whose batch is in flight."""
    backend = Backend()
    backend.gate = asyncio.Event()
    loader: ManyLoader[str, str] = ManyLoader(backend)
    caller = asyncio.ensure_future(loader.load_many(keys))
    await asyncio.sleep(0.01)
    return backend, loader, caller


async def test_callers_in_one_tick_share_one_batch_and_keys_are_read_once() -> None:
    backend = Backend()
    loader = ManyLoader(backend)
    a, b = await asyncio.gather(loader.load_many(["a", "b", "a"]), loader.load_many(["b", "c"]))
    assert (a, b) == (["A", "B", "A"], ["B", "C"])
    assert backend.batches == [["a", "b", "c"]]
    assert await loader.load_many(["c", "d"]) == ["C", "D"]
    assert backend.batches[1:] == [["d"]]


async def test_fresh_callers_in_one_tick_each_get_their_own_keys_in_order() -> None:
    backend = Backend()
    loader = ManyLoader(backend)
    a, c, lone = await asyncio.gather(
        loader.load_many(["b", "a"]), loader.load_many(["c"]), loader.load_many(["d", "e"])
    )
    assert (a, c, lone) == (["B", "A"], ["C"], ["D", "E"])
    assert backend.batches == [["b", "a", "c", "d", "e"]]
    assert await loader.load_many(["f", "g"]) == ["F", "G"]  # a batch of one caller alone
    assert backend.batches[1:] == [["f", "g"]]
    assert await loader.load_many(["e", "a", "g"]) == ["E", "A", "G"]  # all kept
    assert len(backend.batches) == 2


async def test_a_key_forgotten_while_its_batch_is_read_keeps_the_others() -> None:
    backend, loader, caller = await _held_read(["a", "b", "c"])
    loader.forget("b")
    backend.gate.set()
    assert await caller == ["A", "B", "C"]
    assert (loader.known("a"), loader.known("b"), loader.known("c")) == (True, False, True)


async def test_a_key_already_being_read_waits_for_that_batch() -> None:
    backend, loader, first = await _held_read(["a"])  # the first batch is in flight
    second = asyncio.ensure_future(loader.load_many(["a", "b"]))
    await asyncio.sleep(0.01)
    backend.gate.set()
    assert await first == ["A"]
    assert await second == ["A", "B"]
    assert backend.batches == [["a"], ["b"]]


async def test_a_failed_key_holds_its_exception_and_load_raises_it() -> None:
    loader = ManyLoader(Backend())
    ok, missing = await loader.load_many(["a", "x1"])
    assert ok == "A" and isinstance(missing, NotFound)
    with pytest.raises(NotFound):
        await loader.load("x1")
    assert await loader.load("a") == "A"


async def test_a_batch_that_raises_or_miscounts_fails_each_of_its_keys() -> None:
    async def boom(keys: list[str]) -> list[str | Exception]:
        raise RuntimeError("down")

    async def short(keys: list[str]) -> list[str | Exception]:
        return ["only one"]

    failed = await ManyLoader(boom).load_many(["a", "b"])
    assert all(isinstance(r, RuntimeError) and str(r) == "down" for r in failed)
    miscounted = await ManyLoader(short).load_many(["a", "b"])
    assert all(isinstance(r, RuntimeError) for r in miscounted)


async def test_a_cancelled_batch_cancels_its_callers_and_may_be_asked_again() -> None:
    backend, loader, caller = await _held_read(["a"])
    [task] = loader._tasks
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    backend.gate.set()
    assert await loader.load_many(["a"]) == ["A"]
    assert backend.batches == [["a"], ["a"]]


async def test_primed_keys_answer_without_a_batch_and_forgotten_keys_are_read_again() -> None:
    backend = Backend()
    loader = ManyLoader(backend)
    loader.prime("a", "primed")
    assert loader.known("a") and not loader.known("b")
    assert await loader.load_many(["a", "b"]) == ["primed", "B"]
    loader.prime("b", "late")  # an answered key keeps its answer
    assert await loader.load("b") == "B"
    loader.forget("a")
    assert await loader.load("a") == "A"
    loader.clear()
    assert await loader.load_many(["a", "b"]) == ["A", "B"]
    assert backend.batches == [["b"], ["a"], ["a", "b"]]


async def test_a_key_forgotten_while_read_answers_its_callers_but_is_not_kept() -> None:
    backend, loader, caller = await _held_read(["a"])
    loader.forget("a")  # a write happened while the read was in flight
    backend.gate.set()
    assert await caller == ["A"]
    assert not loader.known("a")


async def test_a_cancelled_caller_does_not_cancel_the_batch_others_wait_on() -> None:
    backend = Backend()
    backend.gate = asyncio.Event()
    loader = ManyLoader(backend)
    leaving = asyncio.ensure_future(loader.load_many(["a", "b"]))
    staying = asyncio.ensure_future(loader.load_many(["b"]))
    await asyncio.sleep(0.01)
    leaving.cancel()
    await asyncio.sleep(0.01)
    backend.gate.set()
    assert await staying == ["B"]
    assert leaving.cancelled()
    assert backend.batches == [["a", "b"]]
