"""Scenarios 3 and 5: ``node(id:)`` throughput against a bare floor, then memory under load.

3. ``concurrency`` clients post ``node(id:)`` of one Descope group (cycling over the tenant's
   groups) for a fixed time to the floor app (:mod:`bench.floor`: the same upstream call,
   client and JSON without GraphQL) and to the gateway, no added latency. The time is cut
   into ``throughput_rounds`` stretches per server and the two take turns, floor, gateway,
   gateway, floor, ...: on a shared machine whose speed drifts over a minute, back-to-back
   runs of 20 s each measured ratios from 0.57x to 0.75x for the same code. Requests per
   second, their ratio, and CPU time per request of each server process (from ``/proc``).
5. The gateway's RSS once warm (after ``warm_up`` requests), and again after
   ``memory_requests`` of the same requests (scenario 3's gateway run counts towards them).

The server under test is pinned to CPU 0 and the emulators and this driver to the other
CPUs where the machine has more than one, so the server gets a core of its own and the
driver's and emulator's work does not come out of its share.
"""

from __future__ import annotations

import os
from typing import Any

from bench import proc
from bench.floor import NODE_QUERY
from bench.load import LoadResult, closed_loop, percentile
from bench.report import Row, mb, ms, times
from bench.scenarios import Bench
from bench.servers import Server

IDS_QUERY = '{ tenant(id: "acme") { groups(first: 200) { nodes { id } } } }'


async def _bodies(bench: Bench) -> list[dict[str, Any]]:
    response = await bench.http.post(
        f"{bench.fleet.gateway.url}/graphql", json={"query": IDS_QUERY}
    )
    nodes = response.json()["data"]["tenant"]["groups"]["nodes"]
    bodies = [{"query": NODE_QUERY, "variables": {"id": n["id"]}} for n in nodes]
    # The floor must answer exactly what the gateway answers.
    answers = []
    for server in (bench.fleet.gateway, bench.fleet.floor):
        answer = await bench.http.post(f"{server.url}/graphql", json=bodies[0])
        answers.append(answer.json())
    if answers[0] != answers[1] or "errors" in answers[0]:
        raise RuntimeError(f"the floor and the gateway disagree: {answers}")
    return bodies


def _pin(bench: Bench, server: Server | None, cpus: set[int]) -> bool:
    """``server`` on CPU 0, every other process (this one too) on the rest of ``cpus``;
    with ``server`` None, everything back on all of ``cpus``."""
    if len(cpus) < 2 or 0 not in cpus:
        return False
    rest = cpus - {0} if server is not None else cpus
    for other in bench.fleet.all():
        proc.pin(other.pid, {0} if other is server else rest)
    proc.pin(os.getpid(), rest)
    return server is not None


async def _load(
    bench: Bench, server: Server, bodies: list[dict[str, Any]], **amount: Any
) -> tuple[LoadResult, float]:
    """Load ``server``; returns the result and the CPU seconds the server used meanwhile."""
    before = server.cpu_seconds()
    result = await closed_loop(
        f"{server.url}/graphql", bodies, concurrency=bench.mode.concurrency, **amount
    )
    used = server.cpu_seconds() - before
    if result.errors:
        raise RuntimeError(f"{server.name}: {result.errors} of {result.requests} failed")
    return result, used


def _rows(bench: Bench, gw: LoadResult, gw_cpu: float, fl: LoadResult, fl_cpu: float) -> None:
    def p(result: LoadResult, q: float) -> float:
        return percentile(result.latencies, q)

    bench.rows += [
        Row(
            "3",
            f"node(id:) requests/s, {bench.mode.concurrency} clients",
            f"{gw.rate:.0f}/s",
            f"floor {fl.rate:.0f}/s",
            times(gw.rate / fl.rate),
            ">= 0.60x",
        ),
        Row(
            "3",
            "node(id:) latency p50 / p99",
            f"{ms(p(gw, 50))} / {ms(p(gw, 99))}",
            f"floor {ms(p(fl, 50))} / {ms(p(fl, 99))}",
            times(p(gw, 50) / p(fl, 50)),
        ),
        Row(
            "3",
            "server CPU time per request",
            ms(gw_cpu),
            f"floor {ms(fl_cpu)}",
            times(gw_cpu / fl_cpu),
        ),
    ]


async def _take_turns(
    bench: Bench, servers: tuple[Server, Server], bodies: list[dict[str, Any]], cpus: set[int]
) -> dict[str, tuple[LoadResult, float]]:
    """Each server's load over ``throughput_rounds`` turns of equal length, in the order
    A B B A A B ...: a drift in the machine's speed falls on both alike. Returns each
    server's results summed, and its CPU seconds per request over all its turns."""
    mode = bench.mode
    turn = mode.throughput_seconds / mode.throughput_rounds
    totals = {server.name: (LoadResult(), 0.0) for server in servers}
    for index in range(mode.throughput_rounds):
        pair = servers if index % 2 == 0 else servers[::-1]
        for server in pair:
            _pin(bench, server, cpus)
            result, cpu = await _load(bench, server, bodies, duration=turn)
            total, used = totals[server.name]
            total.add(result)
            totals[server.name] = (total, used + cpu)
    return {name: (total, used / max(total.requests, 1)) for name, (total, used) in totals.items()}


async def run(bench: Bench, *, throughput: bool, memory: bool) -> None:
    mode = bench.mode
    for emulator in bench.fleet.emulators.values():
        await emulator.set_latency(bench.http, 0.0)
    bodies = await _bodies(bench)
    gateway, floor = bench.fleet.gateway, bench.fleet.floor
    cpus = proc.cpus()
    try:
        pinned = _pin(bench, gateway, cpus)
        await _load(bench, gateway, bodies, total=mode.warm_up)
        rss_before, served = gateway.rss(), 0
        if throughput:
            _pin(bench, floor, cpus)
            await _load(bench, floor, bodies, total=mode.warm_up)
            measured = await _take_turns(bench, (floor, gateway), bodies, cpus)
            (fl, fl_cpu), (gw, gw_cpu) = measured[floor.name], measured[gateway.name]
            _pin(bench, gateway, cpus)
            served += gw.requests
            _rows(bench, gw, gw_cpu, fl, fl_cpu)
            bench.notes.append(
                f"3: {mode.throughput_seconds:.0f} s each after {mode.warm_up} warm-up requests, "
                f"in {mode.throughput_rounds} turns of "
                f"{mode.throughput_seconds / mode.throughput_rounds:g} s (floor first, then "
                "each server twice in a row); "
                + (
                    "server under test pinned to CPU 0, emulators and driver to the others"
                    if pinned
                    else "no CPU pinning (one CPU)"
                )
                + f"; driver CPU {fl.driver_cpu / fl.elapsed:.0%} (floor), "
                f"{gw.driver_cpu / gw.elapsed:.0%} (gateway) of one core."
            )
        if memory:
            if served < mode.memory_requests:
                more, _ = await _load(bench, gateway, bodies, total=mode.memory_requests - served)
                served += more.requests
            rss_after = gateway.rss()
            bench.rows.append(
                Row(
                    "5",
                    f"gateway RSS after {served:,} node(id:) requests (warm)",
                    mb(rss_after),
                    f"before {mb(rss_before)}",
                    f"{(rss_after - rss_before) / rss_before:+.1%}",
                    "< +10%",
                )
            )
    finally:
        _pin(bench, None, cpus)
