"""Scenario 2: latency the gateway adds when every upstream request takes 20 ms more.

Each emulator sleeps ``LATENCY`` before serving each request. The scenario-1 query (one page
of N groups, members, members' groups) is timed end to end for all three tenants, for the two
fast ones, and for each tenant alone; rounds interleave the cases so noise hits them alike.

The timing client is aiohttp, as scenario 3's driver is: the client's own work is in the
figure, and httpx's HTTP/1.1 parsing is pure Python. Reading the ~320 KB answer took the
driver 2.6 ms of CPU with httpx and 1.3 ms with aiohttp, and the p50 was 1.9 ms lower
(alternated in one fleet, 40 samples each). The driver's CPU per answer is in the note.

The floor of one answer is worked out from what the emulators saw during that very request:
its upstream requests split into waves (a request that arrived after another of its tenant
had been answered depends on it), and a tenant cannot answer sooner than the sum over its
waves of the latency its emulator added (``LATENCY``, and the fraction of a millisecond by
which the emulator's sleep ends late: its timers have a millisecond's resolution) plus the
emulator's own service time for that wave's requests (an emulator is one process that
serves them one after another). Tenants are read concurrently,
so the floor of a query is its slowest tenant's. scim2-server is slow (its filter evaluation
and pydantic serialization of a 200 x 20 directory take seconds), so its service time is
measured and reported rather than hidden.

What the gateway added to an answer is its time minus that answer's own floor; the goal is
read on the p50 of those differences. scim2-server's service time varies by hundreds of ms
from one request to the next, and the p50 of the times minus the p50 of the floors mixes
answers whose floors differ that much.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import NamedTuple

import aiohttp
import orjson

from bench.load import percentile
from bench.report import Row, ms, times
from bench.scenarios import Bench
from bench.servers import KINDS, TENANT_OF, Timing

LATENCY = 0.020
GOAL_ABOVE_FLOOR = 0.010
"""Scenario 2's goal: an answer's p50 at most this far above its floor."""
_JSON = {"Content-Type": "application/json"}
PAGE = "groups(first: %d) { nodes { displayName members { display groups { displayName } } } }"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    query: str
    kinds: tuple[str, ...]


@dataclass
class Samples:
    times: list[float] = field(default_factory=list)
    floors: list[float] = field(default_factory=list)
    levels: dict[str, int] = field(default_factory=dict)
    service: dict[str, list[float]] = field(default_factory=dict)
    late: dict[str, list[float]] = field(default_factory=dict)
    """By how much the emulator's added latency exceeded ``LATENCY`` (summed over waves)."""
    cpu: list[float] = field(default_factory=list)
    """The gateway's CPU time for each answer (it serves nothing else meanwhile)."""
    driver_cpu: list[float] = field(default_factory=list)
    """The timing client's CPU time for each answer (sending, reading, not decoding)."""


def cases(n: int) -> list[Case]:
    page = PAGE % n

    def alone(kind: str) -> Case:
        tenant = TENANT_OF[kind]
        return Case(f"{tenant} alone", f'{{ tenant(id: "{tenant}") {{ {page} }} }}', (kind,))

    both = f'{{ a: tenant(id: "acme") {{ {page} }} g: tenant(id: "globex") {{ {page} }} }}'
    return [
        Case("3 tenants", f"{{ tenants {{ id {page} }} }}", KINDS),
        Case("acme + globex", both, ("descope", "condeco")),
        *(alone(kind) for kind in KINDS),
    ]


def waves(timings: Sequence[Timing]) -> list[list[Timing]]:
    """Requests grouped into waves of concurrent calls, in the order they were sent."""
    out: list[list[Timing]] = []
    for timing in sorted(timings, key=lambda t: t.arrived):
        if out and all(timing.arrived < t.ended for t in out[-1]):
            out[-1].append(timing)
        else:
            out.append([timing])
    return out


class Floor(NamedTuple):
    """One tenant's share of one answer, as its emulator saw it (seconds)."""

    seconds: float
    """The floor: ``waited`` + ``service``."""
    levels: int
    service: float
    """The emulator's own work for every request."""
    waited: float
    """The latency the emulator actually added, per wave (``LATENCY`` or a little more)."""

    @property
    def late(self) -> float:
        """By how much the added latency exceeded ``LATENCY``, over all waves."""
        return self.waited - self.levels * LATENCY


def tenant_floor(timings: Sequence[Timing]) -> Floor:
    """One tenant's floor, from its requests of one answer.

    Each wave costs the latency its emulator actually added: ``LATENCY`` and the 0.2-1 ms by
    which its sleep ends late (the event loop's timers have a resolution of a millisecond,
    and the process must then get a CPU), taken from the wave's request that started first,
    whose start no other request of the wave can have held up. Then the emulator's own
    service time for every request."""
    grouped = waves(timings)
    service = sum(t.service for t in timings)
    waited = sum(min(t.started - t.arrived for t in wave) for wave in grouped)
    return Floor(waited + service, len(grouped), service, waited)


async def _sample(bench: Bench, client: aiohttp.ClientSession, case: Case, into: Samples) -> None:
    emulators = bench.fleet.emulators
    for kind in KINDS:
        await emulators[kind].reset(bench.http)
    gateway = bench.fleet.gateway
    query = orjson.dumps({"query": case.query})
    cpu = gateway.cpu_seconds()
    driver = time.process_time()
    began = time.perf_counter()
    async with client.post(f"{gateway.url}/graphql", data=query, headers=_JSON) as response:
        content = await response.read()
    into.times.append(time.perf_counter() - began)
    into.driver_cpu.append(time.process_time() - driver)
    into.cpu.append(gateway.cpu_seconds() - cpu)
    body = orjson.loads(content)
    if response.status != 200 or body.get("errors"):
        raise RuntimeError(f"scenario 2 {case.name} failed: {body.get('errors')}")
    floors = []
    for kind in case.kinds:
        stats = await emulators[kind].stats(bench.http)
        floor = tenant_floor(stats.timings)
        floors.append(floor.seconds)
        into.levels[kind] = max(into.levels.get(kind, 0), floor.levels)
        into.service.setdefault(kind, []).append(floor.service)
        into.late.setdefault(kind, []).append(floor.late)
    into.floors.append(max(floors))


def _above(seconds: float) -> str:
    return f"+{ms(seconds)}" if seconds >= 0 else f"-{ms(-seconds)}"


def _detail(case: Case, samples: Samples) -> str:
    parts = []
    for kind in case.kinds:
        service = percentile(samples.service[kind], 50)
        late = percentile(samples.late[kind], 50)
        lv = samples.levels[kind]
        parts.append(f"{TENANT_OF[kind]} {lv} lv ({ms(late)} late)+{ms(service)}")
    return ", ".join(parts)


async def run(bench: Bench) -> None:
    n = bench.mode.latency_n
    emulators = bench.fleet.emulators
    for emulator in emulators.values():
        await emulator.set_latency(bench.http, LATENCY)
    try:
        # One keep-alive connection, as the httpx client had: no connect in any timing.
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1), timeout=aiohttp.ClientTimeout(total=120)
        ) as client:
            all_cases = cases(n)
            await _sample(bench, client, all_cases[0], Samples())  # unmeasured: warms up
            results = {case.name: Samples() for case in all_cases}
            for _ in range(bench.mode.latency_samples):
                for case in all_cases:
                    await _sample(bench, client, case, results[case.name])
    finally:
        for emulator in emulators.values():
            await emulator.set_latency(bench.http, 0.0)

    p50 = {name: percentile(s.times, 50) for name, s in results.items()}
    for case in all_cases:
        samples = results[case.name]
        floor = percentile(samples.floors, 50)
        # What the gateway added to each answer: its time above its own floor.
        excess = [t - f for t, f in zip(samples.times, samples.floors, strict=True)]
        bench.rows.append(
            Row(
                "2",
                f"latency p50 / p95, {case.name}, N={n}",
                f"{ms(p50[case.name])} / {ms(percentile(samples.times, 95))}",
                f"floor {ms(floor)} ({_detail(case, samples)})",
                f"{_above(percentile(excess, 50))} (p95 {_above(percentile(excess, 95))})",
                f"<= +{ms(GOAL_ABOVE_FLOOR)}",
            )
        )
    slowest = max(p50[f"{TENANT_OF[k]} alone"] for k in KINDS)
    fast = max(p50["acme alone"], p50["globex alone"])
    bench.rows.append(
        Row(
            "2",
            "3 tenants vs slowest tenant alone (p50)",
            ms(p50["3 tenants"]),
            f"slowest alone {ms(slowest)}",
            times(p50["3 tenants"] / slowest),
            "1.0x (concurrent)",
        )
    )
    bench.rows.append(
        Row(
            "2",
            "acme + globex vs slower of the two alone (p50)",
            ms(p50["acme + globex"]),
            f"slower alone {ms(fast)}",
            times(p50["acme + globex"] / fast),
            "1.0x (concurrent)",
        )
    )
    cpu = ", ".join(f"{case.name} {ms(fmean(results[case.name].cpu))}" for case in all_cases[1:])
    driver = max(fmean(samples.driver_cpu) for samples in results.values())
    bench.notes.append(
        f"2: every upstream request +{LATENCY * 1000:.0f} ms; {bench.mode.latency_samples} "
        "samples per case. floor = per request and tenant, the waves of sequential upstream "
        f"calls (lv), each the {LATENCY * 1000:.0f} ms its emulator added and the time by which "
        "that sleep ended late (its event loop's timers have a resolution of a millisecond; "
        "p50 in brackets), + the emulator's own service time (+), slowest tenant wins; the "
        "table shows the floors' p50. The ratio column is the p50 (and p95) of "
        "each answer's time minus its own floor: scim2-server's service time moves initech's "
        "floor by hundreds of ms between requests, which a difference of two p50s would count. "
        f"Gateway CPU time per answer (mean; /proc counts 10 ms ticks): {cpu}. Once a "
        "case's reads have come back the same twice running, most of it is spent while "
        "they are on the wire (app/adapters/speculation.py); above the floor are the work "
        "before the first read leaves, reading the last answer, and writing the answer. "
        f"The timing client's own CPU per answer: at most {ms(driver)} (mean of a case)."
    )
