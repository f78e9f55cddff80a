"""Parent side: start the emulators, the gateway and the floor app as uvicorn processes.

Every server is its own process on a 127.0.0.1 ephemeral port, so the gateway's CPU time and
RSS are its own and no server shares a GIL with the load driver or another server. The parent
binds every socket first and hands each child its own (``--fd``), so all URLs are known up
front and everything starts at once. The three emulators come from one host process that
imports and seeds once, then forks one child per emulator (:mod:`bench.serve`). Emulators
answer control calls under ``/__bench/`` (:mod:`bench.control`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bench import proc
from bench.serve import GATEWAY_ENV, KINDS

if TYPE_CHECKING:  # imported late: the emulator host starts before the parent reads app/
    from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120.0
TENANT_OF = {"descope": "acme", "condeco": "globex", "scim": "initech"}


@dataclass
class Server:
    name: str
    url: str
    pid: int
    process: subprocess.Popen[bytes]
    """The process to watch: the server itself, or the host that forked it."""
    log: Path

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

    async def set_faults(self, http: httpx.AsyncClient, error_rate: float, status: int) -> None:
        params = {"error_rate": error_rate, "status": status}
        (await http.post(f"{self.url}/__bench/faults", params=params)).raise_for_status()

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


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    return sock


def _spawn(
    stack: ExitStack,
    log: Path,
    args: list[str],
    sockets: int = 1,
    env: dict[str, str] | None = None,
    root: Path = ROOT,
) -> tuple[subprocess.Popen[bytes], list[str]]:
    """Start ``python -m bench.serve --fd ... ARGS`` from the tree at ``root`` on fresh
    sockets; returns the process and the sockets' URLs. The process is stopped when
    ``stack`` closes."""
    socks = [_listen() for _ in range(sockets)]
    urls = [f"http://127.0.0.1:{s.getsockname()[1]}" for s in socks]
    fds = [s.fileno() for s in socks]
    with ExitStack() as closing, log.open("wb") as out:
        for sock in socks:  # the child has them now
            closing.enter_context(sock)
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.serve", "--fd", ",".join(map(str, fds)), *args],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env={
                **os.environ,
                **({"PYTHONPATH": str(root)} if root != ROOT else {}),
                **(env or {}),
            },
            pass_fds=fds,
        )
    stack.callback(_stop, process)
    return process, urls


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(name: str, url: str, process: subprocess.Popen[bytes], log: Path) -> bytes:
    """The body of ``GET url`` once the server answers (connections queue meanwhile)."""
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=httpx.Timeout(5.0, read=START_TIMEOUT)) as http:
        while True:
            try:
                return http.get(url).content
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    tail = log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{name} is not answering:\n{tail}") from None
                time.sleep(0.05)


def gateway_settings(urls: dict[str, str]) -> tuple[Settings, dict[str, str]]:
    """The demo's three tenants (``demo_settings``), pointed at the emulators on loopback."""
    from app.config import CondecoTenant, DescopeTenant
    from app.demo import demo_settings

    settings, env = demo_settings()
    tenants = []
    for tenant in settings.tenants:
        if isinstance(tenant, DescopeTenant):
            tenant = tenant.model_copy(update={"base_url": urls["descope"]})
        elif isinstance(tenant, CondecoTenant):
            url = urls["condeco"]
            tenant = tenant.model_copy(update={"base_url": url, "token_url": f"{url}/api/V1/token"})
        else:
            tenant = tenant.model_copy(update={"base_url": f"{urls['scim']}/v2"})
        tenants.append(tenant)
    return settings.model_copy(update={"tenants": tenants}), env


@dataclass
class _Starting:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    path: str
    """What to GET to know it is up."""


class Starting:
    """Processes spawned but maybe not answering yet: :meth:`ready` waits for them."""

    def __init__(self, emulators: list[_Starting], gateway: _Starting, floor: _Starting) -> None:
        self._emulators = emulators
        self._gateway = gateway
        self._floor = floor

    def ready(self) -> Fleet:
        emulators = {}
        for e in self._emulators:
            stats = json.loads(_wait_ready(e.name, e.url + e.path, e.process, e.log))
            emulators[e.name] = Emulator(e.name, e.url, stats["pid"], e.process, e.log)
        servers = []
        for s in (self._gateway, self._floor):
            _wait_ready(s.name, s.url + s.path, s.process, s.log)
            servers.append(Server(s.name, s.url, s.process.pid, s.process, s.log))
        return Fleet(emulators, *servers)


@contextmanager
def fleet(groups: int, members: int, users: int) -> Iterator[Starting]:
    """Start three emulators (``groups`` x ``members`` per tenant), the gateway and the floor
    app; stop them all on the way out. Call ``ready()`` on what it yields before use."""
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scim-bench-")))
        sizes = ["--groups", str(groups), "--members", str(members), "--users", str(users)]
        host_log = logs / "emulators.log"
        host, emulator_urls = _spawn(stack, host_log, ["emulators", *sizes], len(KINDS))
        urls = dict(zip(KINDS, emulator_urls, strict=True))
        settings, env = gateway_settings(urls)  # reads app/ while the emulators start
        given = json.dumps({"settings": settings.model_dump(mode="json"), "env": env})
        gw_log, fl_log = logs / "gateway.log", logs / "floor.log"
        gateway, (gateway_url,) = _spawn(stack, gw_log, ["gateway"], env={GATEWAY_ENV: given})
        from app.emulators import DESCOPE_ACCESS_KEY, DESCOPE_PROJECT_ID

        auth = f"Bearer {DESCOPE_PROJECT_ID}:{DESCOPE_ACCESS_KEY}"
        floor, (floor_url,) = _spawn(stack, fl_log, ["floor", urls["descope"], auth])
        yield Starting(
            [_Starting(k, u, host, host_log, "/__bench/stats") for k, u in urls.items()],
            _Starting("gateway", gateway_url, gateway, gw_log, "/healthz"),
            _Starting("floor", floor_url, floor, fl_log, "/"),
        )
