"""One module per scenario; each ``run`` returns table rows and notes."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from bench.report import Row
from bench.servers import Fleet


@dataclass(frozen=True, slots=True)
class Mode:
    """Sizes and durations: quick (under a minute in all) or full."""

    name: str
    groups: int
    """Groups per tenant (each of ``MEMBERS`` members), for scenarios 1, 2, 3 and 5."""
    users: int
    page_sizes: tuple[int, ...]
    """Scenario 1's N."""
    latency_n: int
    latency_samples: int
    warm_up: int
    """Requests sent to a server before its throughput or memory is measured."""
    throughput_seconds: float
    """Scenario 3's load on each server, in all."""
    throughput_rounds: int
    """Stretches that time is cut into, the two servers taking turns (see throughput)."""
    memory_requests: int
    large_answer_repeats: int
    concurrency: int = 32


MEMBERS = 20
# Quick mode shrinks the directory: scim2-server takes seconds to filter and serialize the
# full one (see docs/performance.md), which alone would take the minute.
QUICK = Mode(
    "quick",
    groups=60,
    users=200,
    page_sizes=(10, 25, 50),
    latency_n=10,
    latency_samples=2,
    warm_up=50,
    throughput_seconds=3.0,
    throughput_rounds=2,
    memory_requests=0,
    large_answer_repeats=2,
)
FULL = Mode(
    "full",
    groups=200,
    users=600,
    page_sizes=(10, 50, 100),
    latency_n=50,
    latency_samples=15,
    warm_up=500,
    throughput_seconds=20.0,
    throughput_rounds=4,
    memory_requests=20_000,
    large_answer_repeats=20,
)


@dataclass
class Bench:
    """What scenarios share: the mode, the running servers, and the rows they report."""

    mode: Mode
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    start_rss: int = 0
    """The gateway's RSS before its first request."""
    servers: Fleet | None = None
    client: httpx.AsyncClient | None = None

    @property
    def fleet(self) -> Fleet:
        if self.servers is None:
            raise RuntimeError("this scenario needs the servers running")
        return self.servers

    @property
    def http(self) -> httpx.AsyncClient:
        """For control calls and single queries (not for load)."""
        if self.client is None:
            raise RuntimeError("this scenario needs the servers running")
        return self.client
