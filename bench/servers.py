"""Parent side: start the emulators, the gateway and the floor app as uvicorn subprocesses.

Each server is its own process (``python -m bench.serve``) on a 127.0.0.1 ephemeral port, so
the gateway's CPU time and RSS are its own, and no server shares a GIL with the load driver.
Emulators answer control calls under ``/__bench/`` (:mod:`bench.control`).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import proc

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0
KINDS = ("descope", "condeco", "scim")
TENANT_OF = {"descope": "acme", "condeco": "globex", "scim": "initech"}


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    stderr: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return proc.cpu_seconds(self.pid)

    def rss(self) -> int:
        return proc.rss_bytes(self.pid)


@dataclass(frozen=True, slots=True)
class Timing:
    """One upstream request as the emulator saw it (seconds, the emulator's own clock)."""

    key: str
    arrived: float
    started: float
    ended: float

    @property
    def service(self) -> float:
        """The emulator's own work, without the latency it was told to add."""
        return self.ended - self.started


@dataclass
class EmulatorStats:
    counts: dict[str, int]
    timings: list[Timing] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Emulator(Server):
    async def reset(self, http: httpx.AsyncClient) -> None:
        (await http.post(f"{self.url}/__bench/reset")).raise_for_status()

    async def set_latency(self, http: httpx.AsyncClient, seconds: float) -> None:
        response = await http.post(f"{self.url}/__bench/latency", params={"seconds": seconds})
        response.raise_for_status()

    async def stats(self, http: httpx.AsyncClient) -> EmulatorStats:
        response = await http.get(f"{self.url}/__bench/stats")
        response.raise_for_status()
        data = response.json()
        return EmulatorStats(data["counts"], [Timing(*t) for t in data["timings"]])


@dataclass
class Fleet:
    emulators: dict[str, Emulator]
    gateway: Server
    floor: Server

    def all(self) -> list[Server]:
        return [*self.emulators.values(), self.gateway, self.floor]


def _spawn(stack: ExitStack, logs: Path, name: str, *args: str) -> Server:
    """Start ``python -m bench.serve ARGS``; the server is stopped when ``stack`` closes."""
    stderr_path = logs / f"{name}.log"
    stderr = stack.enter_context(stderr_path.open("wb"))
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.serve", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stack.callback(_stop, process)
    return Server(name, process, "", stderr_path)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _listening(server: Server, deadline: float) -> None:
    """Read the port the child printed, and set ``server.url``."""
    out = server.process.stdout
    assert out is not None
    while time.monotonic() < deadline and server.process.poll() is None:
        ready, _, _ = select.select([out], [], [], 0.2)
        line = out.readline() if ready else b""
        if line:
            server.url = f"http://127.0.0.1:{json.loads(line)['port']}"
            return
    tail = server.stderr.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{server.name} did not start (exit {server.process.poll()}):\n{tail}")


def _wait_ready(server: Server, path: str, deadline: float) -> None:
    with httpx.Client(timeout=5) as http:
        while True:
            try:
                http.get(f"{server.url}{path}")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or server.process.poll() is not None:
                    tail = server.stderr.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{server.name} is not answering:\n{tail}") from None
                time.sleep(0.05)


@contextmanager
def fleet(groups: int, members: int, users: int) -> Iterator[Fleet]:
    """Three emulators (``groups`` x ``members`` per tenant), the gateway and the floor app."""
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scim-bench-")))
        deadline = time.monotonic() + START_TIMEOUT
        sizes = ["--groups", str(groups), "--members", str(members), "--users", str(users)]
        emulators: dict[str, Emulator] = {}
        for kind in KINDS:
            started = _spawn(stack, logs, kind, "emulator", kind, *sizes)
            emulators[kind] = Emulator(started.name, started.process, "", started.stderr)
        for emulator in emulators.values():
            _listening(emulator, deadline)
        urls = json.dumps({kind: e.url for kind, e in emulators.items()})
        gateway = _spawn(stack, logs, "gateway", "gateway", urls)
        floor = _spawn(stack, logs, "floor", "floor", emulators["descope"].url)
        for server in (gateway, floor):
            _listening(server, deadline)
        for emulator in emulators.values():
            _wait_ready(emulator, "/__bench/stats", deadline)
        _wait_ready(gateway, "/healthz", deadline)
        _wait_ready(floor, "/", deadline)
        yield Fleet(emulators, gateway, floor)
