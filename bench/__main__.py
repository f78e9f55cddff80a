"""``python -m bench`` (quick, under a minute) or ``python -m bench --full``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

import httpx

from bench import proc
from bench.report import mb, table
from bench.scenarios import FULL, MEMBERS, QUICK, Bench, Mode
from bench.servers import fleet

ALL = ("1", "2", "3", "4", "5")
STARTED = time.perf_counter()


def progress(what: str) -> None:
    print(f"[{time.perf_counter() - STARTED:5.1f} s] {what}", file=sys.stderr, flush=True)


async def _run(mode: Mode, only: set[str]) -> Bench:
    bench = Bench(mode)
    if only & {"1", "2", "3", "5"}:
        progress("starting 3 emulators, the gateway and the floor app")
        with fleet(mode.groups, MEMBERS, mode.users) as starting:
            from bench.scenarios import latency, throughput, upstream_calls

            servers = starting.ready()
            progress(f"gateway pid {servers.gateway.pid}, floor pid {servers.floor.pid}")
            async with httpx.AsyncClient(timeout=120) as http:
                bench.servers, bench.client = servers, http
                bench.start_rss = servers.gateway.rss()
                if "1" in only:
                    progress("1: upstream requests per query")
                    await upstream_calls.run(bench)
                if "2" in only:
                    progress("2: latency added, 20 ms per upstream request")
                    await latency.run(bench)
                if only & {"3", "5"}:
                    progress("3, 5: node(id:) throughput and memory")
                    await throughput.run(bench, throughput="3" in only, memory="5" in only)
    if "4" in only:
        # In-process, once the servers are gone, so nothing else competes for the CPU.
        progress("4: a large answer, in process")
        from bench.scenarios import large_answers

        await large_answers.run(bench)
    bench.rows.sort(key=lambda row: row.scenario)
    bench.notes.sort()
    return bench


async def _soak(mode: Mode, seconds: float, clients: int, error_rate: float) -> str:
    from bench.soak import render, soak

    progress("soak: starting 3 emulators and the gateway")
    with fleet(mode.groups, MEMBERS, mode.users) as starting:
        servers = starting.ready()
        async with httpx.AsyncClient(timeout=120) as http:
            progress(f"soak: {clients} clients for {seconds:.0f} s")
            result = await soak(
                servers, http, seconds=seconds, clients=clients, error_rate=error_rate
            )
    return render(result, clients=clients, error_rate=error_rate)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the full sizes (a few minutes)")
    parser.add_argument(
        "--only", default=",".join(ALL), help="comma-separated scenarios to run (default: all)"
    )
    parser.add_argument("--soak", action="store_true", help="a soak run against faulty emulators")
    parser.add_argument("--seconds", type=float, default=30.0, help="soak duration")
    parser.add_argument("--clients", type=int, default=16, help="soak clients")
    parser.add_argument("--error-rate", type=float, default=0.2, help="soak upstream errors")
    args = parser.parse_args()
    mode = FULL if args.full else QUICK
    if args.soak:
        print(f"machine: {proc.machine()}")
        print(asyncio.run(_soak(mode, args.seconds, args.clients, args.error_rate)))
        return
    only = set(args.only.split(",")) & set(ALL)
    load_before = os.getloadavg()[0]
    progress(f"scim-gateway benchmarks, {mode.name} mode")
    bench = asyncio.run(_run(mode, only))
    title = (
        f"scim-gateway benchmarks, {mode.name} mode ({time.perf_counter() - STARTED:.0f} s)\n"
        f"machine: {proc.machine()}\n"
        f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}"
        + (f"; gateway RSS at start: {mb(bench.start_rss)}" if bench.start_rss else "")
    )
    print(table(bench.rows, title, bench.notes))


if __name__ == "__main__":
    main()
