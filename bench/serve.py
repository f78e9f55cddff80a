"""Child-process entry point: ``python -m bench.serve --fd N[,N...] WHAT ...``.

The parent (:mod:`bench.servers`) binds each listening socket on a 127.0.0.1 ephemeral port
and hands it down with ``--fd``. ``emulators`` takes three sockets: it imports and seeds the
demo once, then forks one process per emulator (each its own pid, event loop and GIL) and
stops them when it is told to stop. Access logs are off for every server alike.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
from typing import Any

import uvicorn

GATEWAY_ENV = "BENCH_GATEWAY"
"""JSON ``{"settings": ..., "env": ...}`` of the gateway child (the parent builds both)."""
KINDS = ("descope", "condeco", "scim")


def _serve(fd: int, app: Any, *, lifespan: str) -> None:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan=lifespan)
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])


def serve_emulators(fds: list[int], groups: int, members: int, users: int) -> None:
    from app.emulators import build_demo
    from bench.control import Instrumented

    demo = build_demo(groups_per_tenant=groups, members_per_group=members, users_per_tenant=users)
    emulators = {"descope": demo.descope, "condeco": demo.condeco, "scim": demo.scim}
    children = []
    for kind, fd in zip(KINDS, fds, strict=True):
        pid = os.fork()
        if pid == 0:
            for other in fds:
                if other != fd:
                    os.close(other)
            _serve(fd, Instrumented(emulators[kind]), lifespan="off")
            os._exit(0)
        children.append(pid)

    def stop(signum: int, frame: object) -> None:
        for child in children:
            os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        os.waitpid(child, 0)


def gateway_app() -> Any:
    """The real gateway (``create_app``), with the settings the parent pointed at loopback."""
    from app.config import Settings
    from app.main import create_app
    from app.runtime import tune_gc

    given = json.loads(os.environ[GATEWAY_ENV])
    app = create_app(Settings(**given["settings"]), env=given["env"])
    tune_gc()  # as `scim-gateway serve` does
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("--fd", required=True, help="listening socket(s), comma-separated")
    sub = parser.add_subparsers(dest="what", required=True)
    emulators = sub.add_parser("emulators", help="descope, condeco and scim, one socket each")
    emulators.add_argument("--groups", type=int, required=True)
    emulators.add_argument("--members", type=int, required=True)
    emulators.add_argument("--users", type=int, required=True)
    sub.add_parser("gateway")
    floor = sub.add_parser("floor")
    floor.add_argument("descope_url")
    floor.add_argument("authorization", help="the Descope SCIM Authorization header")
    args = parser.parse_args()
    fds = [int(fd) for fd in args.fd.split(",")]
    if args.what == "emulators":
        serve_emulators(fds, args.groups, args.members, args.users)
    elif args.what == "gateway":
        _serve(fds[0], gateway_app(), lifespan="on")
    else:
        from app.runtime import tune_gc
        from bench.floor import create_floor_app

        floor = create_floor_app(args.descope_url, args.authorization)
        tune_gc()  # the same process tuning as the gateway, so the ratio compares code alone
        _serve(fds[0], floor, lifespan="on")
    sys.exit(0)


if __name__ == "__main__":
    main()
