"""The gateway as deployed: no test transports, so each tenant's client goes through
app/adapters/transport.py to the three emulators served by uvicorn on loopback.

The answers must be the ones the in-process (ASGI) wiring gives for the same directory, and a
write on each backend kind (Condeco's PATCH answers 204 with no body) must go through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.adapters.transport import upstream_transport
from app.config import Settings
from app.demo import demo_settings, demo_transports
from app.emulators import DemoEnvironment
from app.main import create_app
from tests.gateway.conftest import small_demo
from tests.loopback import served

PAGE = """{ tenants { id groups(first: 6) { nodes { id displayName memberCount
  members { scimId display groups { displayName } } } } } }"""


@pytest.fixture(scope="module")
def demo() -> DemoEnvironment:
    return small_demo()


@pytest.fixture(scope="module")
def upstream_urls(demo: DemoEnvironment) -> Iterator[dict[str, str]]:
    with (
        served(demo.descope.app) as descope,
        served(demo.condeco.app) as condeco,
        served(demo.scim.app) as scim,
    ):
        yield {"descope": descope, "condeco": condeco, "scim": scim}


def loopback_settings(urls: dict[str, str]) -> tuple[Settings, dict[str, str]]:
    """The demo's tenants, pointed at the emulators on loopback (as ``bench.servers`` does)."""
    base, env = demo_settings()
    tenants = []
    for tenant in base.tenants:
        if tenant.backend == "descope":
            tenant = tenant.model_copy(update={"base_url": urls["descope"]})
        elif tenant.backend == "condeco":
            url = urls["condeco"]
            tenant = tenant.model_copy(update={"base_url": url, "token_url": f"{url}/api/V1/token"})
        else:
            tenant = tenant.model_copy(update={"base_url": f"{urls['scim']}/v2"})
        tenants.append(tenant)
    return Settings(tenants=tenants), env


async def _client(
    settings: Settings, env: dict[str, str], transports: Any = None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, env=env, transports=transports)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
        ) as client,
    ):
        yield client


@pytest.fixture
async def over_loopback(
    upstream_urls: dict[str, str], no_proxy_env: None
) -> AsyncIterator[httpx.AsyncClient]:
    assert upstream_transport(httpx.Limits()) is not None  # aiohttp's, not httpx's own
    settings, env = loopback_settings(upstream_urls)
    async for client in _client(settings, env):
        yield client


async def query(client: httpx.AsyncClient, document: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": document, "variables": variables})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


async def test_a_page_over_loopback_is_the_page_in_process(
    over_loopback: httpx.AsyncClient, demo: DemoEnvironment
) -> None:
    over_http = await query(over_loopback, PAGE)
    base, env = demo_settings()
    async for in_process in _client(Settings(tenants=base.tenants), env, demo_transports(demo)):
        assert over_http == await query(in_process, PAGE)
    tenants = over_http["tenants"]
    assert [t["id"] for t in tenants] == ["acme", "globex", "initech"]
    assert all(len(t["groups"]["nodes"]) == 6 for t in tenants)
    assert any(n["members"] for t in tenants for n in t["groups"]["nodes"])


@pytest.mark.parametrize("tenant", ["acme", "globex", "initech"])
async def test_writes_over_loopback(over_loopback: httpx.AsyncClient, tenant: str) -> None:
    created = await query(
        over_loopback,
        """mutation($t: ID!) { createGroup(input: {tenantId: $t, displayName: "Loopback"})
           { id displayName memberCount } }""",
        t=tenant,
    )
    group = created["createGroup"]
    assert (group["displayName"], group["memberCount"]) == ("Loopback", 0)
    renamed = await query(
        over_loopback,
        """mutation($id: ID!) { updateGroup(input: {id: $id, displayName: "Loopback 2"})
           { displayName } }""",
        id=group["id"],
    )
    assert renamed["updateGroup"]["displayName"] == "Loopback 2"
    deleted = await query(
        over_loopback,
        "mutation($id: ID!) { deleteGroup(input: {id: $id}) { deletedGroupId } }",
        id=group["id"],
    )
    assert deleted["deleteGroup"]["deletedGroupId"] == group["id"]
    gone = await query(over_loopback, "query($id: ID!) { node(id: $id) { id } }", id=group["id"])
    assert gone["node"] is None
