"""The built-in demo: three tenants, one per backend kind, on in-process emulators.

``scim-gateway serve`` with no config runs this: no credentials to set, nothing else to start.
Each tenant's pooled client is routed to its emulator through ``httpx.ASGITransport``, so the
adapters speak the same wire format they would to the real vendors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from app.config import CondecoTenant, DescopeTenant, ScimTenant, Settings
from app.emulators import demo as seeds
from app.gateway import Gateway, open_gateway

DESCOPE_URL = "http://descope.demo"
CONDECO_URL = "http://condeco.demo"
SCIM_URL = "http://scim.demo/v2"


def demo_settings() -> tuple[Settings, dict[str, str]]:
    """The demo's tenants, and the environment holding their (demo) secrets."""
    settings = Settings(
        tenants=[
            DescopeTenant(
                id="acme",
                name="Acme Corp",
                backend="descope",
                base_url=DESCOPE_URL,
                project_id=seeds.DESCOPE_PROJECT_ID,
                descope_tenant_id=seeds.DESCOPE_TENANT_ID,
                access_key_env="DEMO_DESCOPE_ACCESS_KEY",
                management_key_env="DEMO_DESCOPE_MANAGEMENT_KEY",
            ),
            CondecoTenant(
                id="globex",
                name="Globex",
                backend="condeco",
                base_url=CONDECO_URL,
                token_url=f"{CONDECO_URL}/api/V1/token",
                client_id_env="DEMO_CONDECO_CLIENT_ID",
                client_secret_env="DEMO_CONDECO_CLIENT_SECRET",
            ),
            ScimTenant(
                id="initech",
                name="Initech",
                backend="scim",
                base_url=SCIM_URL,
                token_env="DEMO_SCIM_TOKEN",
            ),
        ]
    )
    env = {
        "DEMO_DESCOPE_ACCESS_KEY": seeds.DESCOPE_ACCESS_KEY,
        "DEMO_DESCOPE_MANAGEMENT_KEY": seeds.DESCOPE_MANAGEMENT_KEY,
        "DEMO_CONDECO_CLIENT_ID": seeds.CONDECO_CLIENT_ID,
        "DEMO_CONDECO_CLIENT_SECRET": seeds.CONDECO_CLIENT_SECRET,
        "DEMO_SCIM_TOKEN": seeds.SCIM_TOKEN,
    }
    return settings, env


def demo_transports(environment: seeds.DemoEnvironment) -> dict[str, httpx.AsyncBaseTransport]:
    return {
        "acme": httpx.ASGITransport(app=environment.descope.app),
        "globex": httpx.ASGITransport(app=environment.condeco.app),
        "initech": httpx.ASGITransport(app=environment.scim.app),
    }


@asynccontextmanager
async def demo_gateway(environment: seeds.DemoEnvironment | None = None) -> AsyncIterator[Gateway]:
    environment = environment or seeds.build_demo()
    settings, env = demo_settings()
    async with open_gateway(settings, env=env, transports=demo_transports(environment)) as gateway:
        yield gateway
