"""``python -m bench.ab BASE``: scenario 2 for this tree's gateway and BASE's, side by side.

This kind of host drifts by tens of percent within minutes, so two ``--full`` runs taken
apart cannot tell a change of a millisecond or two from the drift. Here the gateway of this
tree and the gateway of BASE (another checkout of the project, for instance
``git worktree add /tmp/base HEAD~3``) serve side by side, against the same emulators with
20 ms per upstream request, and every sample of a case goes to both, in alternating order.
For each case and gateway it prints the p50 and p25 of each answer's time above its own
floor (scenario 2's figure), the p50 of the answers' times themselves (two trees may read a
case with different requests, so different floors), the gateway's CPU time per answer
(``/proc``, 10 ms ticks), and the p50 of when the slowest tenant's first request reached its
emulator after the query was sent, and of how late its added latency ended (the table's
"late").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

import aiohttp
import httpx
import orjson

from bench import proc
from bench.load import percentile
from bench.scenarios import FULL, MEMBERS
from bench.scenarios.latency import LATENCY, Case, cases, tenant_floor
from bench.serve import GATEWAY_ENV
from bench.servers import Emulator, _spawn, _wait_ready, fleet, gateway_settings

_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class _Answer:
    above: float
    """Its time above its floor."""
    took: float
    cpu: float
    """The gateway's CPU time for it."""
    sent: float
    """When the slowest tenant's first request reached its emulator, after the query left
    (one clock: ``perf_counter`` is the system's monotonic clock on Linux)."""
    late: float
    """By how much the slowest tenant's added latency ended late (scenario 2's "late")."""


async def _one(
    client: aiohttp.ClientSession,
    http: httpx.AsyncClient,
    emulators: dict[str, Emulator],
    url: str,
    pid: int,
    case: Case,
) -> _Answer:
    """One answer of ``case`` from the gateway at ``url``."""
    for kind in case.kinds:
        await emulators[kind].reset(http)
    query = orjson.dumps({"query": case.query})
    cpu = proc.cpu_seconds(pid)
    began = time.perf_counter()
    async with client.post(f"{url}/graphql", data=query, headers=_JSON) as response:
        body = orjson.loads(await response.read())
    took = time.perf_counter() - began
    used = proc.cpu_seconds(pid) - cpu
    if response.status != 200 or body.get("errors"):
        raise RuntimeError(f"{case.name} failed at {url}: {body.get('errors')}")
    timings = [(await emulators[k].stats(http)).timings for k in case.kinds]
    floor, slowest = max(((tenant_floor(t), t) for t in timings), key=lambda pair: pair[0].seconds)
    arrived = min(t.arrived for t in slowest)
    return _Answer(took - floor.seconds, took, used, arrived - began, floor.late)


async def _run(base: Path, names: list[str], samples: int) -> None:
    with fleet(FULL.groups, MEMBERS, FULL.users) as starting, ExitStack() as stack:
        servers = starting.ready()
        urls = {kind: emulator.url for kind, emulator in servers.emulators.items()}
        settings, env = gateway_settings(urls)
        # Defaults left out: BASE may predate a setting this tree added.
        dumped = settings.model_dump(mode="json", exclude_defaults=True)
        given = json.dumps({"settings": dumped, "env": env})
        log = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scim-bench-ab-")))
        log = log / "base-gateway.log"
        process, (url,) = _spawn(stack, log, ["gateway"], env={GATEWAY_ENV: given}, root=base)
        _wait_ready("base gateway", f"{url}/healthz", process, log)
        gateways = {
            "this tree": (servers.gateway.url, servers.gateway.pid),
            "base": (url, process.pid),
        }
        by_name = {case.name: case for case in cases(50)}
        answers: dict[tuple[str, str], list[_Answer]] = {}
        async with httpx.AsyncClient(timeout=120) as http:
            for emulator in servers.emulators.values():
                await emulator.set_latency(http, LATENCY)
            connector = aiohttp.TCPConnector(limit=len(gateways))
            async with aiohttp.ClientSession(connector=connector) as client:
                for turn in range(samples + 1):  # the first turn warms up
                    order = list(gateways.items())
                    for name in names:
                        for label, (gateway_url, pid) in order if turn % 2 else order[::-1]:
                            one = await _one(
                                client, http, servers.emulators, gateway_url, pid, by_name[name]
                            )
                            if turn:
                                answers.setdefault((name, label), []).append(one)
    print(f"scenario 2, {samples} samples per case and gateway, alternated; base: {base}")
    for name in names:
        cells = []
        for label in gateways:
            got = answers[(name, label)]
            xs = [a.above for a in got]
            p50, p25 = percentile(xs, 50) * 1000, percentile(xs, 25) * 1000
            used = fmean(a.cpu for a in got) * 1000
            time_p50 = percentile([a.took for a in got], 50) * 1000
            sent = percentile([a.sent for a in got], 50) * 1000
            late = percentile([a.late for a in got], 50) * 1000
            cells.append(
                f"{label}: +{p50:.1f} ms (p25 +{p25:.1f}) in {time_p50:.1f} ms, CPU {used:.1f} "
                f"ms, slowest read at {sent:.2f} ms ({late:.2f} ms late)"
            )
        print(f"{name:15} | " + " | ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("base", type=Path, help="another checkout of the project")
    parser.add_argument(
        "--cases",
        default="acme alone,globex alone,acme + globex",
        help="comma-separated scenario-2 cases (also: initech alone, 3 tenants)",
    )
    parser.add_argument("--samples", type=int, default=30, help="answers per case and gateway")
    args = parser.parse_args()
    names = args.cases.split(",")
    unknown = set(names) - {case.name for case in cases(50)}
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    asyncio.run(_run(args.base.resolve(), names, args.samples))


if __name__ == "__main__":
    main()
