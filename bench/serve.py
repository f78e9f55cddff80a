"""Child-process entry point: ``python -m bench.serve {emulator,gateway,floor} ...``.

Binds 127.0.0.1 on an ephemeral port, prints ``{"port": N}`` on one line of stdout for the
parent (:mod:`bench.servers`), then serves with uvicorn until terminated. Access logs are off
for every server alike.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any

import uvicorn


def _serve(app: Any, *, lifespan: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan=lifespan)
    server = uvicorn.Server(config)
    sys.stdout.write(json.dumps({"port": sock.getsockname()[1]}) + "\n")
    sys.stdout.flush()
    server.run(sockets=[sock])


def emulator_app(kind: str, groups: int, members: int, users: int) -> Any:
    from app.emulators import build_demo
    from bench.control import Instrumented

    demo = build_demo(
        groups_per_tenant=groups, members_per_group=members, users_per_tenant=users, seed=7
    )
    return Instrumented({"descope": demo.descope, "condeco": demo.condeco, "scim": demo.scim}[kind])


def gateway_app(urls: dict[str, str]) -> Any:
    """The real gateway, its demo tenants pointed at the emulators' loopback URLs."""
    from app.config import CondecoTenant, DescopeTenant, Settings
    from app.demo import demo_settings
    from app.main import create_app

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
    return create_app(Settings(tenants=tenants), env=env)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    sub = parser.add_subparsers(dest="what", required=True)
    emulator = sub.add_parser("emulator")
    emulator.add_argument("kind", choices=["descope", "condeco", "scim"])
    emulator.add_argument("--groups", type=int, required=True)
    emulator.add_argument("--members", type=int, required=True)
    emulator.add_argument("--users", type=int, required=True)
    gateway = sub.add_parser("gateway")
    gateway.add_argument("urls", help='JSON {"descope": url, "condeco": url, "scim": url}')
    floor = sub.add_parser("floor")
    floor.add_argument("descope_url")
    args = parser.parse_args()
    if args.what == "emulator":
        _serve(emulator_app(args.kind, args.groups, args.members, args.users), lifespan="off")
    elif args.what == "gateway":
        _serve(gateway_app(json.loads(args.urls)), lifespan="on")
    else:
        from bench.floor import create_floor_app

        _serve(create_floor_app(args.descope_url), lifespan="on")


if __name__ == "__main__":
    main()
