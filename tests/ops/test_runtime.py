"""The serving entry points tune the garbage collector for large answers (app/runtime.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.asgi import app_from_env
from app.runtime import GEN0_THRESHOLD, tune_gc


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)
    gc.unfreeze()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ((700, 10, 10), (GEN0_THRESHOLD, 10, 10)),  # CPython's default is raised
        ((GEN0_THRESHOLD * 2, 5, 5), (GEN0_THRESHOLD * 2, 5, 5)),  # a higher one is kept
        ((0, 10, 10), (0, 10, 10)),  # disabled on purpose stays disabled
    ],
)
def test_tune_gc_only_ever_raises_the_young_threshold(
    before: tuple[int, int, int], after: tuple[int, int, int]
) -> None:
    gc.set_threshold(*before)
    tune_gc()
    assert gc.get_threshold() == after


def test_start_up_objects_are_frozen() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    tune_gc()
    assert gc.get_freeze_count() > 0


def test_the_asgi_factory_tunes_its_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCIM_GATEWAY_CONFIG", raising=False)
    gc.set_threshold(700, 10, 10)
    app_from_env()
    assert gc.get_threshold()[0] == GEN0_THRESHOLD
