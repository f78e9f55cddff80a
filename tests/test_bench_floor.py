"""Scenario 2's floor: what the emulators themselves took for one answer's upstream requests."""

from __future__ import annotations

import pytest

from bench.scenarios.latency import LATENCY, tenant_floor, waves
from bench.servers import Timing


def _timing(arrived: float, slept: float, service: float) -> Timing:
    return Timing("GET /x", arrived, arrived + slept, arrived + slept + service)


def test_one_wave_costs_the_latency_actually_added_and_the_service() -> None:
    floor = tenant_floor([_timing(0.0, LATENCY + 0.0006, 0.004)])
    assert floor.levels == 1
    assert floor.waited == pytest.approx(LATENCY + 0.0006)
    assert floor.late == pytest.approx(0.0006)
    assert floor.seconds == pytest.approx(LATENCY + 0.0006 + 0.004)


def test_a_request_held_up_by_its_wave_does_not_count_twice() -> None:
    # Sent together; the second's start waits for the first's service (counted once).
    first = _timing(0.0, LATENCY + 0.0004, 0.003)
    second = _timing(0.0002, LATENCY + 0.0004 + 0.0028, 0.001)
    floor = tenant_floor([second, first])
    assert floor.levels == 1
    assert floor.waited == pytest.approx(LATENCY + 0.0004)
    assert floor.seconds == pytest.approx(LATENCY + 0.0004 + 0.004)


def test_a_request_sent_after_an_answer_is_another_wave() -> None:
    first = _timing(0.0, LATENCY, 0.002)
    second = _timing(first.ended + 0.001, LATENCY + 0.0005, 0.001)
    assert [len(wave) for wave in waves([second, first])] == [1, 1]
    floor = tenant_floor([first, second])
    assert floor.levels == 2
    assert floor.late == pytest.approx(0.0005)
    assert floor.seconds == pytest.approx(2 * LATENCY + 0.0005 + 0.003)
