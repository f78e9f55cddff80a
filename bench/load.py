"""A closed-loop load driver on aiohttp, and percentiles."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0
    driver_cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def add(self, other: LoadResult) -> None:
        """Count ``other`` (a later stretch of load on the same server) into this one."""
        self.requests += other.requests
        self.errors += other.errors
        self.elapsed += other.elapsed
        self.driver_cpu += other.driver_cpu
        self.latencies += other.latencies


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def closed_loop(
    url: str,
    bodies: Sequence[dict[str, Any]],
    *,
    concurrency: int,
    duration: float | None = None,
    total: int | None = None,
) -> LoadResult:
    """``concurrency`` clients each sending the next body as soon as their last answer came,
    until ``duration`` seconds have passed or ``total`` requests were sent. An answer that is
    not a 200 without GraphQL ``errors`` counts as an error (and as a request).

    Each client is its own aiohttp session with one keep-alive connection, and the bodies
    are encoded once. The driver shares the machine with the emulators: with httpx clients it
    took ~1.5 ms of CPU per request, and at ~540 requests/s it and the emulator filled the
    core they share, capping the floor app's figure below what the floor could serve.
    """
    if (duration is None) == (total is None):
        raise ValueError("give exactly one of duration and total")
    result = LoadResult()
    cycle = itertools.cycle([orjson.dumps(body) for body in bodies])
    sent = 0
    headers = {"Content-Type": "application/json"}
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=1),
                    timeout=aiohttp.ClientTimeout(total=60),
                )
            )
            for _ in range(concurrency)
        ]
        for client in clients:  # connect before the clock starts
            async with client.post(url, json=bodies[0]) as response:
                await response.read()
        start = time.perf_counter()
        deadline = start + duration if duration is not None else float("inf")

        async def worker(client: aiohttp.ClientSession) -> None:
            nonlocal sent
            while time.perf_counter() < deadline and (total is None or sent < total):
                sent += 1
                began = time.perf_counter()
                async with client.post(url, data=next(cycle), headers=headers) as response:
                    content = await response.read()
                result.latencies.append(time.perf_counter() - began)
                result.requests += 1
                if response.status != 200 or b'"errors"' in content:
                    result.errors += 1

        cpu = os.times()
        await asyncio.gather(*(worker(client) for client in clients))
        result.elapsed = time.perf_counter() - start
        after = os.times()
        result.driver_cpu = (after.user - cpu.user) + (after.system - cpu.system)
    return result
