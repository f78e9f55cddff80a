"""The serving entry points tune the garbage collector for large answers (app/runtime.py)."""

from __future__ import annotations

import gc
import importlib.metadata
import re
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from app.asgi import app_from_env
from app.cli import cli
from app.runtime import GC_ENV, GEN0_THRESHOLD, tune_gc


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


def test_the_threshold_can_be_set_from_the_environment() -> None:
    gc.set_threshold(700, 10, 10)
    tune_gc({GC_ENV: "20000"})
    assert gc.get_threshold()[0] == 20_000
    gc.set_threshold(700, 10, 10)
    tune_gc({GC_ENV: "700"})  # Python's own: left as it is
    assert gc.get_threshold()[0] == 700


@pytest.mark.parametrize("raw", ["0", "-5", "lots", "1.5"])
def test_a_bad_threshold_is_refused_with_its_name(raw: str) -> None:
    with pytest.raises(ValueError, match=GC_ENV):
        tune_gc({GC_ENV: raw})


def test_serve_refuses_a_bad_threshold_before_serving() -> None:
    result = CliRunner().invoke(cli, ["serve"], env={GC_ENV: "lots", "SCIM_GATEWAY_CONFIG": ""})
    assert result.exit_code == 2
    assert GC_ENV in result.output


def test_the_package_requires_sniffio_which_httpcore_imports_on_every_request() -> None:
    # httpcore's current_async_library() runs `import sniffio` several times per upstream
    # request; without it installed (anyio 4 dropped it), every one of those imports fails
    # after searching sys.path. The test environment has it anyway (asgi-lifespan needs it),
    # so what is checked is that a plain install of the gateway gets it too.
    requirements = importlib.metadata.requires("scim-gateway") or []
    runtime = {
        re.match(r"[A-Za-z0-9._-]+", line).group(0).lower()  # type: ignore[union-attr]
        for line in requirements
        if "extra ==" not in line
    }
    assert "sniffio" in runtime
