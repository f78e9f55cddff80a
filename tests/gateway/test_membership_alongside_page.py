"""A page whose members' groups are selected reads a small tenant's membership alongside it.

Once a listing has told the gateway how many groups a tenant has, and that is at most
``SMALL_TENANT_GROUPS``, one read of the whole tenant's membership goes out with the page:
one round trip instead of two, for the same answer. Descope's is the management call without
``userIds``, sent together with the page's own read. Condeco's and scim's is one listing of
every group (where scim would otherwise ``POST /Groups/.search`` the page's members), and an
unfiltered page is cut from it: one request instead of two.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.adapters.scim import SMALL_TENANT_GROUPS
from app.adapters.scimwire import MAX_PAGE_SIZE
from app.config import Limits, Settings
from app.demo import demo_settings, demo_transports
from app.emulators import DemoEnvironment, build_demo
from app.main import create_app
from tests.gateway.conftest import WatchedTransport

PAGE = """{ tenant(id: "%s") { groups(first: 10) { nodes {
  displayName members { scimId groups { scimId displayName } } } } } }"""
KINDS = ("acme", "globex", "initech")
WHOLE_COUNTS = {"200", str(MAX_PAGE_SIZE)}  # Condeco's page; scim2-server's maxResults, 1000


def _whole_read(request: httpx.Request) -> bool:
    """The read of a whole tenant's membership, as each backend receives it."""
    if request.url.path.endswith("/mgmt/group/member/all"):
        return "userIds" not in json.loads(request.content)
    params = request.url.params
    whole_page = params.get("count") in WHOLE_COUNTS
    return request.method == "GET" and whole_page and "filter" not in params


class _Gateway:
    def __init__(self, http: httpx.AsyncClient, watched: dict[str, WatchedTransport]) -> None:
        self.http = http
        self.watched = watched

    async def page(self, tenant: str, query: str = PAGE) -> dict[str, Any]:
        self.watched[tenant].reset()
        response = await self.http.post("/graphql", json={"query": query % tenant})
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


async def _open(
    demo: DemoEnvironment, *, limits: Limits | None = None, **tenant: Any
) -> AsyncIterator[_Gateway]:
    base, env = demo_settings()
    transports = demo_transports(demo)
    watched = {t: WatchedTransport(transports[t]) for t in KINDS}
    transports.update(watched)
    tenants = [t.model_copy(update=tenant) for t in base.tenants]
    settings = Settings(tenants=tenants, limits=limits or Limits())
    app = create_app(settings, env=env, transports=transports)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            yield _Gateway(http, watched)


@pytest.fixture
async def gateway() -> AsyncIterator[_Gateway]:
    demo = build_demo(groups_per_tenant=40, members_per_group=6, users_per_tenant=60, seed=5)
    async for opened in _open(demo):
        yield opened


@pytest.mark.parametrize("tenant", KINDS)
async def test_once_the_size_is_known_the_membership_goes_out_with_the_page(
    gateway: _Gateway, tenant: str
) -> None:
    watched = gateway.watched[tenant]
    first = await gateway.page(tenant)  # the tenant's size is not known yet: page, then groups
    assert "errors" not in first
    assert watched.most == 1
    assert not any(map(_whole_read, watched.sent))

    second = await gateway.page(tenant)
    assert second == first
    if tenant == "acme":
        assert watched.most == 2  # the page and the whole tenant's membership, together
        assert len(watched.sent) == 2
    else:  # one listing of the tenant: the page is cut from it
        assert len(watched.sent) == 1
    assert sum(map(_whole_read, watched.sent)) == 1
    members = [m for n in second["data"]["tenant"]["groups"]["nodes"] for m in n["members"]]
    assert members and all(m["groups"] for m in members)


async def test_the_merged_page_of_all_tenants_reads_them_alongside_too(gateway: _Gateway) -> None:
    query = "{ groups(first: 7) { nodes { displayName members { scimId groups { scimId } } } } }"
    first = (await gateway.http.post("/graphql", json={"query": query})).json()
    for watched in gateway.watched.values():
        watched.reset()
    second = (await gateway.http.post("/graphql", json={"query": query})).json()
    assert "errors" not in first
    assert second == first
    for tenant, watched in gateway.watched.items():
        assert sum(map(_whole_read, watched.sent)) == 1
        if tenant == "acme":  # its page and the management call, together
            assert (watched.most, len(watched.sent)) == (2, 2)
        else:  # the page cut from the tenant's listing
            assert len(watched.sent) == 1


@pytest.mark.parametrize("tenant", KINDS)
async def test_a_page_without_members_groups_reads_nothing_more(
    gateway: _Gateway, tenant: str
) -> None:
    query = '{ tenant(id: "%s") { groups(first: 10) { nodes { members { display } } } } }'
    await gateway.page(tenant, query)
    answer = await gateway.page(tenant, query)
    assert "errors" not in answer
    assert len(gateway.watched[tenant].sent) == 1  # the page, its members inside it


@pytest.mark.parametrize("tenant", KINDS)
async def test_when_the_whole_read_fails_members_are_asked_for_by_id(
    gateway: _Gateway, tenant: str
) -> None:
    expected = await gateway.page(tenant)
    watched = gateway.watched[tenant]
    watched.refuse = _whole_read
    answer = await gateway.page(tenant)
    assert answer == expected
    assert watched.refuse is None  # it was refused
    assert len(watched.sent) == 3  # the page, the refused read, then the members' groups


async def test_a_failed_page_does_not_leave_the_whole_read_running(gateway: _Gateway) -> None:
    await gateway.page("acme")  # Descope: the page is read on its own, beside the whole read
    watched = gateway.watched["acme"]
    watched.refuse = lambda request: request.url.params.get("count") == "10"
    watched.slow = _whole_read
    answer = await gateway.page("acme")
    assert answer["errors"] and answer["data"]["tenant"]["groups"] is None  # the page failed
    assert sum(map(_whole_read, watched.sent)) == 1
    await asyncio.sleep(0.05)
    assert watched.now == 0  # the whole read, held a second, was cancelled with the request


@pytest.mark.parametrize(
    ("groups", "setting"),
    [
        (SMALL_TENANT_GROUPS + 1, {}),
        (40, {"whole_tenant_reads_up_to": 39}),
        (40, {"whole_tenant_reads_up_to": 0}),
    ],
    ids=["larger than the default", "larger than the setting", "turned off"],
)
async def test_a_tenant_above_the_limit_is_not_read_whole(
    groups: int, setting: dict[str, int]
) -> None:
    demo = build_demo(groups_per_tenant=groups, members_per_group=2, users_per_tenant=40)
    async for gateway in _open(demo, **setting):
        for tenant in KINDS:
            await gateway.page(tenant)
            answer = await gateway.page(tenant)
            assert "errors" not in answer
            assert not any(map(_whole_read, gateway.watched[tenant].sent))
            assert gateway.watched[tenant].most == 1


async def test_a_tenant_within_its_setting_is_read_whole() -> None:
    demo = build_demo(groups_per_tenant=40, members_per_group=2, users_per_tenant=40)
    async for gateway in _open(demo, whole_tenant_reads_up_to=40):
        for tenant in KINDS:
            await gateway.page(tenant)
            await gateway.page(tenant)
            assert sum(map(_whole_read, gateway.watched[tenant].sent)) == 1


PAGES = """query($tenant: ID!, $after: String) { tenant(id: $tenant) {
  groups(first: 15, after: $after%s) { totalCount pageInfo { hasNextPage endCursor }
    nodes { scimId displayName members { scimId groups { scimId } } } } } }"""


async def _pages(gateway: _Gateway, tenant: str, filtered: str = "") -> list[dict[str, Any]]:
    """Every page of the tenant, in turn, through the cursors; and what each one sent."""
    pages, after = [], None
    while True:
        gateway.watched[tenant].reset()
        variables = {"tenant": tenant, "after": after}
        answer = await gateway.http.post(
            "/graphql", json={"query": PAGES % filtered, "variables": variables}
        )
        body = answer.json()
        assert "errors" not in body
        groups = body["data"]["tenant"]["groups"]
        pages.append({"groups": groups, "sent": len(gateway.watched[tenant].sent)})
        if not groups["pageInfo"]["hasNextPage"]:
            return pages
        after = groups["pageInfo"]["endCursor"]


@pytest.mark.parametrize("tenant", ["globex", "initech"])
async def test_pages_cut_from_the_whole_listing_are_the_pages_read_on_their_own(
    tenant: str,
) -> None:
    demo = build_demo(groups_per_tenant=40, members_per_group=4, users_per_tenant=40, seed=7)
    async for whole in _open(demo):
        await _pages(whole, tenant)  # learns the tenant's size
        cut = await _pages(whole, tenant)
    async for alone in _open(demo, whole_tenant_reads_up_to=0):
        await _pages(alone, tenant)
        read = await _pages(alone, tenant)
    assert [p["groups"] for p in cut] == [p["groups"] for p in read]
    assert [len(p["groups"]["nodes"]) for p in cut] == [15, 15, 10]
    assert [p["sent"] for p in cut] == [1, 1, 1]  # one listing each, the page cut from it
    assert all(p["sent"] >= 2 for p in read)  # the page, then its members' groups


@pytest.mark.parametrize("tenant", ["globex", "initech"])
async def test_a_filtered_page_is_read_on_its_own_beside_the_whole_listing(
    gateway: _Gateway, tenant: str
) -> None:
    filtered = ', filter: { displayName: { ne: "-" } }'
    await _pages(gateway, tenant)  # learns the tenant's size
    pages = await _pages(gateway, tenant, filtered)
    assert [p["sent"] for p in pages] == [2] * len(pages)  # the filtered page, the listing
    assert [g["scimId"] for p in pages for g in p["groups"]["nodes"]] == [
        g["scimId"] for p in await _pages(gateway, tenant) for g in p["groups"]["nodes"]
    ]


async def test_merged_pages_cut_from_the_listings_are_the_pages_read_on_their_own() -> None:
    query = """query($after: String) { groups(first: 12, after: $after) {
      pageInfo { hasNextPage endCursor } nodes { displayName tenant { id }
      members { scimId groups { scimId } } } } }"""

    async def every_page(gateway: _Gateway) -> list[dict[str, Any]]:
        pages, after = [], None
        while True:
            answer = await gateway.http.post(
                "/graphql", json={"query": query, "variables": {"after": after}}
            )
            body = answer.json()
            assert "errors" not in body
            pages.append(body["data"]["groups"])
            if not body["data"]["groups"]["pageInfo"]["hasNextPage"]:
                return pages
            after = body["data"]["groups"]["pageInfo"]["endCursor"]

    demo = build_demo(groups_per_tenant=20, members_per_group=3, users_per_tenant=30, seed=9)
    async for whole in _open(demo):
        await every_page(whole)  # learns the tenants' sizes
        for watched in whole.watched.values():
            watched.reset()
        cut = await every_page(whole)
        sent = {tenant: len(watched.sent) for tenant, watched in whole.watched.items()}
    async for alone in _open(demo, whole_tenant_reads_up_to=0):
        read = await every_page(alone)
    assert cut == read
    assert len(cut) == 5  # 60 groups, 12 a page
    assert sent["globex"] == sent["initech"] == len(cut)  # one listing a page, nothing more
