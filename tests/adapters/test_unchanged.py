"""``LastAnswer``: an answer that comes back byte for byte is decoded (and read) once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from app.adapters import unchanged
from app.adapters.unchanged import NOTHING, LastAnswer, LastAnswers


class Counting:
    """A decoder (or a maker) that counts its calls."""

    def __init__(self, inner: Callable[[Any], Any] = orjson.loads) -> None:
        self.inner = inner
        self.calls = 0

    def __call__(self, value: Any) -> Any:
        self.calls += 1
        return self.inner(value)


def test_the_same_bytes_are_decoded_once() -> None:
    decode = Counting()
    answer = LastAnswer(decode)
    first = answer(b'{"Resources": [1, 2]}')
    again = answer(bytes(bytearray(b'{"Resources": [1, 2]}')))  # equal, not the same object
    assert again is first
    assert decode.calls == 1


def test_other_bytes_are_decoded_and_replace_the_kept_answer() -> None:
    decode = Counting()
    answer = LastAnswer(decode)
    first = answer(b"[1]")
    second = answer(b"[2]")
    assert (first, second) == ([1], [2])
    assert answer(b"[2]") is second
    assert answer(b"[1]") is not first  # let go when [2] came
    assert decode.calls == 3


def test_what_is_made_of_an_answer_is_made_once_per_answer() -> None:
    make = Counting(len)
    answer = LastAnswer(orjson.loads)
    decoded = answer(b"[1, 2, 3]")
    assert answer.then(decoded, make) == 3
    assert answer.then(answer(b"[1, 2, 3]"), make) == 3
    assert make.calls == 1
    assert answer.then(answer(b"[1]"), make) == 1  # a new answer: made again
    assert make.calls == 2


def test_a_value_that_is_not_the_kept_answer_is_made_every_time() -> None:
    make = Counting(len)
    answer = LastAnswer(orjson.loads)
    stale = answer(b"[1, 2]")
    answer(b"[1, 2, 3]")  # another request's answer replaced it in between
    assert answer.then(stale, make) == 2
    assert answer.then(stale, make) == 2
    assert make.calls == 2
    assert answer.then(answer(b"[1, 2, 3]"), make) == 3  # the kept one's is still made


def test_a_bad_answer_is_not_kept() -> None:
    decode = Counting()
    answer = LastAnswer(decode)
    kept = answer(b"[1]")
    for _ in range(2):
        with pytest.raises(orjson.JSONDecodeError):
            answer(b"[1")
    assert decode.calls == 3  # tried each time
    assert answer(b"[1]") is kept


def test_a_failure_to_make_something_of_an_answer_is_not_kept() -> None:
    def make(value: list[int]) -> int:
        raise ValueError("wrong shape")

    answer = LastAnswer(orjson.loads)
    decoded = answer(b"[1]")
    with pytest.raises(ValueError):
        answer.then(decoded, make)
    assert answer.then(decoded, len) == 1


def test_kept_answers_are_held_to_the_budget_least_recently_used_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(unchanged, "KEPT_BYTES", 10)
    decoders = [Counting() for _ in range(3)]
    answers = [LastAnswer(d) for d in decoders]
    answers[0](b"[111]")  # 5 bytes each: two fit
    answers[1](b"[222]")
    answers[0](b"[111]")  # used again: [222] is now the oldest
    answers[2](b"[333]")
    assert [a.kept for a in answers] == [5, 0, 5]
    answers[1](b"[222]")
    assert [d.calls for d in decoders] == [1, 2, 1]
    assert [a.kept for a in answers] == [0, 5, 5]


def test_an_answer_larger_than_the_budget_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unchanged, "KEPT_BYTES", 4)
    decode = Counting()
    answer = LastAnswer(decode)
    answer(b"[1, 2]")
    answer(b"[1, 2]")
    assert (decode.calls, answer.kept) == (2, 0)


# -- what a keeper lets be assumed (app.adapters.speculation) -----------------------------

REQUEST = ("GET", "https://scim.example/Groups?count=100", None)


def steady(content: bytes = b"[1, 2]") -> LastAnswer[Any]:
    """A keeper whose request was answered with ``content`` twice running."""
    keeper: LastAnswer[Any] = LastAnswer(orjson.loads)
    keeper.answer(REQUEST, content)
    keeper.answer(REQUEST, bytes(bytearray(content)))
    return keeper


def test_nothing_is_assumed_until_a_request_is_answered_the_same_twice_running() -> None:
    keeper: LastAnswer[Any] = LastAnswer(orjson.loads)
    assert keeper.assumed(REQUEST) is NOTHING
    first = keeper.answer(REQUEST, b"[1]")
    assert keeper.assumed(REQUEST) is NOTHING  # answered once
    assert keeper.answer(REQUEST, b"[1]") is first
    assert keeper.assumed(REQUEST) is first
    assert keeper.assumed(("GET", "other", None)) is NOTHING  # another request
    keeper.answer(REQUEST, b"[2]")
    assert keeper.assumed(REQUEST) is NOTHING  # its answers change


def test_the_same_bytes_for_another_request_are_not_steady() -> None:
    keeper: LastAnswer[Any] = LastAnswer(orjson.loads)
    keeper.answer(("GET", "a", None), b"[1]")
    keeper.answer(("GET", "b", None), b"[1]")
    assert keeper.assumed(("GET", "b", None)) is NOTHING


def test_a_failed_request_is_doubted_until_answered_the_same_again() -> None:
    keeper = steady()
    keeper.doubt()
    assert keeper.assumed(REQUEST) is NOTHING
    value = keeper.answer(REQUEST, b"[1, 2]")
    assert keeper.assumed(REQUEST) is value


def test_keepers_by_request_are_bounded_least_recently_asked_first() -> None:
    decode = Counting()
    pages: LastAnswers[Any] = LastAnswers(decode, size=2)
    pages["a"](b"[1]")
    pages["b"](b"[2]")
    pages["a"](b"[1]")  # asked again: b is now the oldest
    pages["c"](b"[3]")
    assert decode.calls == 3
    pages["a"](b"[1]")
    assert decode.calls == 3  # still kept
    pages["b"](b"[2]")
    assert decode.calls == 4  # let go when c came
