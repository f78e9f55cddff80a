"""A gateway served for real: uvicorn on a free loopback port, over the demo emulators."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.config import ClientConfig, Settings
from app.demo import demo_settings, demo_transports
from app.main import create_app
from tests.gateway.conftest import small_demo
from tests.loopback import served

ADMIN_KEY = "operator-admin-key-0123456789"


@dataclass
class LiveGateway:
    url: str
    admin_key: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_gateway() -> Iterator[LiveGateway]:
    base, env = demo_settings()
    settings = Settings(
        tenants=base.tenants,
        clients=[ClientConfig(name="ops", key_env="OPS_KEY", role="admin", tenants=["*"])],
    )
    app = create_app(
        settings, env={**env, "OPS_KEY": ADMIN_KEY}, transports=demo_transports(small_demo())
    )
    with served(app, lifespan="on") as url:
        yield LiveGateway(url, ADMIN_KEY)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests on to another transport and keeps each one's headers."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.headers: list[httpx.Headers] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers)
        return await self.inner.handle_async_request(request)


@dataclass
class InProcess:
    http: httpx.AsyncClient
    app: FastAPI
    transports: dict[str, RecordingTransport]

    async def graphql(self, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = await self.http.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@asynccontextmanager
async def in_process(
    *,
    clients: list[ClientConfig] | None = None,
    extra_env: dict[str, str] | None = None,
    tracer_provider: Any = None,
    **operator: Any,
) -> AsyncIterator[InProcess]:
    """The gateway over the demo emulators, with ``operator`` settings (cors=..., ...)."""
    base, env = demo_settings()
    settings = Settings(tenants=base.tenants, clients=clients, **operator)
    transports = {t: RecordingTransport(x) for t, x in demo_transports(small_demo()).items()}
    app = create_app(
        settings,
        env={**env, **(extra_env or {})},
        transports=transports,
        tracer_provider=tracer_provider,
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield InProcess(http, app, transports)
