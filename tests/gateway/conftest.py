"""A running gateway over the demo emulators, talked to the way a client does: POST /graphql.

``gateway`` gives a :class:`GatewayClient` for raw JSON answers (errors included) and a gql
session for the success paths. Each emulator's request log tells tests what went upstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport

from app.config import ClientConfig, Settings
from app.demo import demo_settings, demo_transports
from app.emulators import DemoEnvironment, build_demo
from app.main import create_app
from app.operator_config import TracingConfig

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

TENANTS = ("acme", "globex", "initech")


class WatchedTransport(httpx.AsyncBaseTransport):
    """An emulator's transport, holding each request open a moment to see which overlap
    (``most`` at once; ``slow`` ones longer) and keeping what was ``sent``; ``refuse`` answers
    400 to the next request it matches, once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.now = 0
        self.most = 0
        self.sent: list[httpx.Request] = []
        self.refuse: Callable[[httpx.Request], bool] | None = None
        self.slow: Callable[[httpx.Request], bool] = lambda request: False

    def reset(self) -> None:
        self.most = 0
        self.sent.clear()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(1.0 if self.slow(request) else 0.05)
            if self.refuse is not None and self.refuse(request):
                self.refuse = None
                return httpx.Response(400, json={"detail": "refused by the test"})
            return await self.inner.handle_async_request(request)
        finally:
            self.now -= 1


@dataclass
class GatewayClient:
    http: httpx.AsyncClient
    demo: DemoEnvironment
    gql_session: Any
    app: Any = None
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    async def post(
        self, query: str, variables: Mapping[str, Any] | None = None, *, key: str | None = None
    ) -> dict[str, Any]:
        headers = {}
        token = key if key is not None else self.key
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": dict(variables or {})}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run through gql, a real GraphQL client; it raises if the answer carries errors."""
        request = GraphQLRequest(query, variable_values=dict(variables or {}))
        result: dict[str, Any] = await self.gql_session.execute(request)
        return result

    def upstream(self, tenant: str) -> int:
        return int(self.demo.emulator(tenant).log.total)

    def reset_logs(self) -> None:
        for tenant in TENANTS:
            self.demo.emulator(tenant).log.reset()


def small_demo() -> DemoEnvironment:
    return build_demo(groups_per_tenant=30, members_per_group=(2, 8), users_per_tenant=60, seed=3)


async def open_client(
    demo: DemoEnvironment,
    *,
    clients: list[ClientConfig] | None = None,
    extra_env: Mapping[str, str] | None = None,
    key: str | None = None,
    tracer_provider: TracerProvider | None = None,
) -> AsyncIterator[GatewayClient]:
    """The gateway over ``demo``; with ``tracer_provider``, ``[tracing]`` is on and spans go
    there."""
    base, env = demo_settings()
    tracing = TracingConfig(enabled=tracer_provider is not None)
    settings = Settings(tenants=base.tenants, clients=clients, tracing=tracing)
    app = create_app(
        settings,
        env={**env, **(extra_env or {})},
        transports=demo_transports(demo),
        tracer_provider=tracer_provider,
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            gql_transport = HTTPXAsyncTransport(
                url="http://gateway/graphql", transport=transport, headers=headers
            )
            async with Client(transport=gql_transport) as session:
                yield GatewayClient(http, demo, session, app, key)


@pytest.fixture
def demo() -> DemoEnvironment:
    return small_demo()


@pytest.fixture
async def gateway(demo: DemoEnvironment) -> AsyncIterator[GatewayClient]:
    async for client in open_client(demo):
        client.reset_logs()
        yield client
