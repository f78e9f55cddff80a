"""A gateway over the demo emulators with chosen hardening knobs (per tenant and ``[limits]``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from gql import Client
from gql.transport.httpx import HTTPXAsyncTransport

from app.config import ClientConfig, Limits, Settings
from app.demo import demo_settings, demo_transports
from app.emulators import DemoEnvironment
from app.main import create_app
from tests.gateway.conftest import TENANTS, GatewayClient, small_demo

__all__ = ["TENANTS", "GatewayClient", "open_hardened"]


async def open_hardened(
    demo: DemoEnvironment,
    *,
    tenants: Mapping[str, Mapping[str, Any]] | None = None,
    every_tenant: Mapping[str, Any] | None = None,
    limits: Mapping[str, Any] | None = None,
    clients: list[ClientConfig] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[GatewayClient]:
    """Like ``open_client``, with knobs: ``tenants={"acme": {"retries": 0}}``, ``limits=...``."""
    base, env = demo_settings()
    configs = [
        t.model_copy(update={**(every_tenant or {}), **(tenants or {}).get(t.id, {})})
        for t in base.tenants
    ]
    settings = Settings(tenants=configs, clients=clients, limits=Limits(**(limits or {})))
    app = create_app(settings, env={**env, **(extra_env or {})}, transports=demo_transports(demo))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            gql_transport = HTTPXAsyncTransport(url="http://gateway/graphql", transport=transport)
            async with Client(transport=gql_transport) as session:
                client = GatewayClient(http, demo, session, app, None)
                client.reset_logs()
                yield client


@pytest.fixture
def demo() -> DemoEnvironment:
    return small_demo()
