"""``python -m bench`` (quick, under a minute) or ``python -m bench --full``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import httpx

from bench import proc
from bench.report import mb, table
from bench.scenarios import FULL, GROUPS, MEMBERS, QUICK, USERS, Bench, Mode
from bench.servers import fleet

ALL = ("1", "2", "3", "4", "5")


async def _run(mode: Mode, only: set[str]) -> Bench:
    from bench.scenarios import large_answers, latency, throughput, upstream_calls

    with fleet(GROUPS, MEMBERS, USERS) as servers:
        async with httpx.AsyncClient(timeout=120) as http:
            bench = Bench(mode, servers, http, start_rss=servers.gateway.rss())
            if "1" in only:
                await upstream_calls.run(bench)
            if "2" in only:
                await latency.run(bench)
            if only & {"3", "5"}:
                await throughput.run(bench, throughput="3" in only, memory="5" in only)
    if "4" in only:
        # In-process, once the servers are gone, so nothing else competes for the CPU.
        await large_answers.run(bench)
    bench.rows.sort(key=lambda row: row.scenario)
    bench.notes.sort()
    return bench


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the full sizes (a few minutes)")
    parser.add_argument(
        "--only", default=",".join(ALL), help="comma-separated scenarios to run (default: all)"
    )
    args = parser.parse_args()
    mode = FULL if args.full else QUICK
    only = set(args.only.split(",")) & set(ALL)
    started = time.perf_counter()
    print(f"scim-gateway benchmarks ({mode.name} mode) on {proc.machine()}", file=sys.stderr)
    bench = asyncio.run(_run(mode, only))
    elapsed = time.perf_counter() - started
    title = (
        f"scim-gateway benchmarks, {mode.name} mode, {elapsed:.0f} s\n"
        f"machine: {proc.machine()}\n"
        f"gateway RSS at start: {mb(bench.start_rss)}"
    )
    print(table(bench.rows, title, bench.notes))


if __name__ == "__main__":
    main()
