"""One module per scenario; each ``run`` returns table rows and notes."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from bench.report import Row
from bench.servers import Fleet


@dataclass(frozen=True, slots=True)
class Mode:
    """Sizes and durations: quick (< 1 minute in all) or full."""

    name: str
    latency_samples: int
    throughput_seconds: float
    memory_requests: int
    large_answer_repeats: int
    concurrency: int = 32


QUICK = Mode(
    "quick",
    latency_samples=4,
    throughput_seconds=4.0,
    memory_requests=3_000,
    large_answer_repeats=5,
)
FULL = Mode(
    "full",
    latency_samples=20,
    throughput_seconds=20.0,
    memory_requests=20_000,
    large_answer_repeats=20,
)

# Scenario 1's directory, used by scenarios 2, 3 and 5 too: 3 tenants of 200 groups x 20.
GROUPS = 200
MEMBERS = 20
USERS = 600


@dataclass
class Bench:
    mode: Mode
    fleet: Fleet
    http: httpx.AsyncClient
    """For control calls and single queries (not for load)."""
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    start_rss: int = 0
