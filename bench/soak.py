"""``python -m bench --soak``: concurrent clients for a fixed time against faulty emulators.

Every emulator answers a share of its requests with an error (``--error-rate``, alternating
503 and 429 between tenants), while clients send a mix of reads: one group by id, one tenant's
page with members, and the merged groups of all tenants. The run prints how many requests were
answered, HTTP statuses (a 5xx would be a bug: every failure must be a GraphQL error), GraphQL
errors by ``extensions.code``, p50/p99 latency, and the gateway's RSS at start and end.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.load import percentile
from bench.report import mb, ms
from bench.servers import Fleet

QUERIES = (
    "query($id: ID!) { node(id: $id) { id ... on Group { displayName memberCount } } }",
    '{ tenant(id: "globex") { groups(first: 10) { nodes { displayName members { display } } } } }',
    "{ groups(first: 20) { totalCount nodes { displayName tenant { id } } } }",
)


@dataclass
class SoakResult:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    partial: int = 0
    """Answers carrying both data and errors (one tenant failed, the others answered)."""
    latencies: list[float] = field(default_factory=list)
    rss_start: int = 0
    rss_end: int = 0
    seconds: float = 0.0


def _tally(result: SoakResult, response: httpx.Response) -> None:
    result.statuses[response.status_code] += 1
    if response.status_code != 200:
        return
    body: dict[str, Any] = response.json()
    errors = body.get("errors") or []
    for error in errors:
        result.codes[(error.get("extensions") or {}).get("code", "NO CODE")] += 1
    if errors and any(v is not None for v in (body.get("data") or {}).values()):
        result.partial += 1


async def soak(
    fleet: Fleet, http: httpx.AsyncClient, *, seconds: float, clients: int, error_rate: float
) -> SoakResult:
    url = f"{fleet.gateway.url}/graphql"
    page = await http.post(
        url, json={"query": '{ tenant(id: "acme") { groups { nodes { id } } } }'}
    )
    ids = [n["id"] for n in page.json()["data"]["tenant"]["groups"]["nodes"]]
    for i, emulator in enumerate(fleet.emulators.values()):
        await emulator.set_faults(http, error_rate, 503 if i % 2 == 0 else 429)
    result = SoakResult(rss_start=fleet.gateway.rss())
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def client(n: int) -> None:
        async with httpx.AsyncClient(limits=limits, timeout=60) as own:
            i = n
            while time.perf_counter() < deadline:
                query = QUERIES[i % len(QUERIES)]
                body = {
                    "query": query,
                    "variables": {"id": ids[i % len(ids)]} if i % 3 == 0 else {},
                }
                began = time.perf_counter()
                response = await own.post(url, json=body)
                result.latencies.append(time.perf_counter() - began)
                result.requests += 1
                _tally(result, response)
                i += clients

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    result.seconds = time.perf_counter() - started
    for emulator in fleet.emulators.values():
        await emulator.set_faults(http, 0.0, 503)
    result.rss_end = fleet.gateway.rss()
    return result


def render(result: SoakResult, *, clients: int, error_rate: float) -> str:
    growth = (result.rss_end / result.rss_start - 1) * 100 if result.rss_start else 0.0
    codes = ", ".join(f"{c}={n}" for c, n in result.codes.most_common()) or "none"
    statuses = ", ".join(f"{s}={n}" for s, n in sorted(result.statuses.items()))
    lat = result.latencies or [0.0]
    return "\n".join(
        [
            f"soak: {clients} clients for {result.seconds:.0f} s, upstream error rate "
            f"{error_rate:.0%} (503 on acme and initech, 429 on globex)",
            f"requests answered   {result.requests} ({result.requests / result.seconds:.0f}/s)",
            f"HTTP statuses       {statuses}",
            f"errors by code      {codes}",
            f"partial answers     {result.partial} (data and errors: one tenant failed)",
            f"latency p50 / p99   {ms(percentile(lat, 50))} / {ms(percentile(lat, 99))}",
            f"gateway RSS         {mb(result.rss_start)} -> {mb(result.rss_end)} ({growth:+.1f}%)",
        ]
    )
