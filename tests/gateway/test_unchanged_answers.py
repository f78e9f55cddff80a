"""A small tenant's whole membership is read with every page, and decoded only when it changed.

Over the demo emulators, through POST /graphql: the whole read still goes out with each
page (the directory is asked every time), but an answer byte for byte the same as the last
one is not decoded or indexed again; and a change in the directory shows in the very next
answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.adapters import descope, scimwire
from app.config import Settings
from app.demo import demo_settings, demo_transports
from app.emulators import build_demo
from app.main import create_app
from tests.gateway.conftest import WatchedTransport
from tests.gateway.test_membership_alongside_page import _whole_read

PAGE = """{ tenant(id: "%s") { groups(first: 10) { nodes {
  id displayName version members { scimId display groups { displayName } } } } } }"""
KINDS = ("acme", "globex", "initech")


class Decodes:
    """Counts the calls of a wire decoder."""

    def __init__(self, inner: Callable[[bytes], Any]) -> None:
        self.inner = inner
        self.calls = 0

    def __call__(self, content: bytes) -> Any:
        self.calls += 1
        return self.inner(content)


class _Gateway:
    def __init__(
        self, http: httpx.AsyncClient, watched: dict[str, WatchedTransport], decodes: Decodes
    ) -> None:
        self.http = http
        self.watched = watched
        self.decodes = decodes

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body

    async def page(self, tenant: str) -> tuple[dict[str, Any], int, int]:
        """The page's answer, how many whole reads went out for it, and how many answers
        of the whole read's kind were decoded."""
        self.watched[tenant].reset()
        before = self.decodes.calls
        body = await self.post(PAGE % tenant)
        whole_reads = sum(map(_whole_read, self.watched[tenant].sent))
        return body["data"]["tenant"], whole_reads, self.decodes.calls - before


@pytest.fixture(params=KINDS)
async def gateway(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, _Gateway]]:
    tenant: str = request.param
    # Counted before the adapters are made: each keeps its decoder from then on.
    acme = tenant == "acme"
    module, name = (descope, "decode_memberships") if acme else (scimwire, "decode_groups")
    decodes = Decodes(getattr(module, name))
    monkeypatch.setattr(module, name, decodes)
    demo = build_demo(groups_per_tenant=30, members_per_group=5, users_per_tenant=40, seed=11)
    base, env = demo_settings()
    transports = demo_transports(demo)
    watched = {t: WatchedTransport(transports[t]) for t in KINDS}
    transports.update(watched)
    app = create_app(Settings(tenants=base.tenants), env=env, transports=transports)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            yield tenant, _Gateway(http, watched, decodes)


async def test_an_unchanged_whole_read_is_sent_every_time_and_decoded_once(
    gateway: tuple[str, _Gateway],
) -> None:
    tenant, gw = gateway
    await gw.page(tenant)  # learns the tenant's size: no whole read yet
    second, whole_reads, decoded = await gw.page(tenant)
    assert (whole_reads, decoded) == (1, 1)
    for _ in range(2):
        again, whole_reads, decoded = await gw.page(tenant)
        assert (whole_reads, decoded) == (1, 0)
        assert again == second


async def test_a_change_in_the_directory_shows_in_the_next_answer(
    gateway: tuple[str, _Gateway],
) -> None:
    tenant, gw = gateway
    await gw.page(tenant)
    before, _, _ = await gw.page(tenant)
    await gw.page(tenant)  # the whole read is now kept
    group = before["groups"]["nodes"][0]
    member = group["members"][0]
    renamed = f"{group['displayName']} (renamed)"
    await gw.post(
        "mutation($id: ID!, $name: String) { updateGroup(input: {id: $id, displayName: $name})"
        " { displayName } }",
        {"id": group["id"], "name": renamed},
    )
    after, whole_reads, decoded = await gw.page(tenant)
    assert (whole_reads, decoded) == (1, 1)  # other bytes: read anew
    names = {
        g["displayName"]
        for n in after["groups"]["nodes"]
        for m in n["members"]
        if m["scimId"] == member["scimId"]
        for g in m["groups"]
    }
    assert renamed in names
    assert group["displayName"] not in names
