"""A real RFC 7644 server (scim2-server, in memory) for the adapter tests, over ASGI."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from scim2_models import ScimProvider, UnauthorizedException
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.utils import load_default_provider

from app.adapters.scim import ScimAdapter

TOKEN = "scim-test-token"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


class BearerASGIApplication(ASGIApplication):
    """scim2-server's ``BearerTokenApplication`` (testserver/application.py), over ASGI."""

    def check_auth(self, request: ScimRequest) -> None:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token != TOKEN:
            raise UnauthorizedException


class Counted:
    """Requests a client sent, keyed ``"GET /v2/Groups"``."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.counts[f"{request.method} {request.url.path}"] += 1
        self.requests.append(request)

    def reset(self) -> None:
        self.counts.clear()
        self.requests.clear()


@pytest.fixture
def sent() -> Counted:
    return Counted()


@pytest.fixture(scope="session")
def provider() -> ScimProvider:
    """The RFC 7643 schemas and a ServiceProviderConfig (slow to load: once per run)."""
    return load_default_provider()


@pytest.fixture
async def scim_client(sent: Counted, provider: ScimProvider) -> AsyncIterator[httpx.AsyncClient]:
    app = BearerASGIApplication(AsyncInMemoryStorage(), provider)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://scim.test/v2",
        event_hooks={"request": [sent]},
    ) as client:
        yield client


@pytest.fixture
def scim(scim_client: httpx.AsyncClient) -> ScimAdapter:
    return ScimAdapter("acme", scim_client, token=TOKEN)


class Seeder:
    """Creates resources directly on the server, not through the adapter under test."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def _create(self, path: str, body: dict[str, Any]) -> str:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        response = await self.client.post(path, json=body, headers=auth)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def user(self, name: str) -> str:
        body = {"schemas": [USER], "userName": name, "displayName": name.title()}
        return await self._create("Users", body)

    async def group(
        self, name: str, members: Sequence[str] = (), external_id: str | None = None
    ) -> str:
        body: dict[str, Any] = {
            "schemas": [GROUP],
            "displayName": name,
            "members": [{"value": m} for m in members],
        }
        if external_id:
            body["externalId"] = external_id
        return await self._create("Groups", body)


@pytest.fixture
def seeded(scim_client: httpx.AsyncClient) -> Seeder:
    return Seeder(scim_client)
