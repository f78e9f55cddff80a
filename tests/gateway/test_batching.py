"""Batching is the point of the design: upstream requests per tenant stay flat in page size.

The query reads a page of groups, each group's members and each member's groups: naively
1 + N + N*20 requests per tenant. Through the loaders it is a small constant per tenant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.config import Settings
from app.demo import demo_settings, demo_transports
from app.emulators import DESCOPE_TENANT_ID, DemoEnvironment, build_demo
from app.main import create_app
from tests.gateway.conftest import TENANTS, GatewayClient, WatchedTransport, open_client

QUERY = """query($n: Int) { tenants { id groups(first: $n) {
  nodes { displayName members { display groups { displayName } } } } } }"""

# Cold, one list page, then for Descope one management call for all members' groups (it names
# each group, and the query asks members' groups for nothing more); Condeco one scan of the
# tenant (no .search); scim one POST /Groups/.search, one page of scim2-server's maxResults.
# Once the warm-up has told the gateway these tenants are small, the second read is of the
# whole tenant and goes out with the page: Descope's management call; for Condeco and scim one
# listing of every group, which also holds the page, so the page is not read on its own.
EXPECTED = {"acme": 2, "globex": 1, "initech": 1}


@pytest.fixture
def sized_demo() -> DemoEnvironment:
    return build_demo(groups_per_tenant=120, members_per_group=20, users_per_tenant=500, seed=11)


@pytest.fixture
async def sized_gateway(sized_demo: DemoEnvironment) -> AsyncIterator[GatewayClient]:
    async for client in open_client(sized_demo):
        # Warm up once-per-process reads (Condeco token, ServiceProviderConfig).
        await client.data(QUERY, {"n": 1})
        yield client


async def _counts(gateway: GatewayClient, n: int) -> dict[str, int]:
    gateway.reset_logs()
    data = await gateway.data(QUERY, {"n": n})
    for tenant in data["tenants"]:
        nodes = tenant["groups"]["nodes"]
        assert len(nodes) == n
        assert all(len(g["members"]) == 20 for g in nodes)
        assert all(m["groups"] for g in nodes for m in g["members"])
    return {t: gateway.upstream(t) for t in TENANTS}


async def test_upstream_requests_per_tenant_are_constant_in_page_size(
    sized_gateway: GatewayClient,
) -> None:
    small = await _counts(sized_gateway, 10)
    large = await _counts(sized_gateway, 60)
    assert small == large == EXPECTED


async def test_a_member_in_many_groups_is_looked_up_once(sized_gateway: GatewayClient) -> None:
    sized_gateway.reset_logs()
    await sized_gateway.data(QUERY, {"n": 30})
    descope = sized_gateway.demo.descope.log.counts
    assert descope["POST /v1/mgmt/group/member/all"] == 1


async def test_group_by_id_lookups_batch_into_one_filter(gateway: GatewayClient) -> None:
    page = await gateway.data('{ tenant(id: "globex") { groups(first: 12) { nodes { id } } } }')
    ids = [n["id"] for n in page["tenant"]["groups"]["nodes"]]
    aliases = " ".join(f'g{i}: node(id: "{gid}") {{ id }}' for i, gid in enumerate(ids))
    gateway.reset_logs()
    data = await gateway.data(f"{{ {aliases} }}")
    assert len(data) == 12
    assert gateway.demo.condeco.log.counts["GET /scim/api/V1/groups"] == 1
    assert gateway.demo.condeco.log.total == 1


WHOLE = """query($n: Int) { tenant(id: "acme") { groups(first: $n) {
  nodes { members { scimId groups { %s } } } } } }"""


async def test_members_groups_are_read_whole_only_when_the_selection_needs_more_than_a_name(
    sized_gateway: GatewayClient,
) -> None:
    sized_gateway.reset_logs()
    named = await sized_gateway.data(WHOLE % "id scimId displayName __typename", {"n": 30})
    assert sized_gateway.upstream("acme") == 2
    sized_gateway.reset_logs()
    whole = await sized_gateway.data(WHOLE % "id scimId displayName externalId", {"n": 30})
    # the groups not on the page, read whole: a scan of the tenant's 120 groups, 100 a page
    assert sized_gateway.upstream("acme") == 4
    store = sized_gateway.demo.descope.store(DESCOPE_TENANT_ID).groups
    pairs = 0
    for a, b in zip(_members(named), _members(whole), strict=True):
        assert [{k: g[k] for k in ("id", "scimId", "displayName")} for g in b["groups"]] == [
            {k: g[k] for k in ("id", "scimId", "displayName")} for g in a["groups"]
        ]
        for group in b["groups"]:
            assert group["externalId"] == store[group["scimId"]].external_id
            pairs += 1
    assert pairs > 600


async def test_aliases_asking_names_and_more_each_get_what_they_asked(
    sized_gateway: GatewayClient,
) -> None:
    data = await sized_gateway.data(
        '{ tenant(id: "acme") { groups(first: 5) { nodes { members { '
        "a: groups { displayName } b: groups { displayName externalId } } } } } }"
    )
    store = sized_gateway.demo.descope.store(DESCOPE_TENANT_ID).groups
    by_name = {g.display_name: g.external_id for g in store.values()}
    members = [m for g in data["tenant"]["groups"]["nodes"] for m in g["members"]]
    assert members
    for member in members:
        assert [g["displayName"] for g in member["a"]] == [g["displayName"] for g in member["b"]]
        assert all(g["externalId"] == by_name[g["displayName"]] for g in member["b"])


def _members(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for g in data["tenant"]["groups"]["nodes"] for m in g["members"]]


async def test_one_members_groups_by_name_or_whole_agree(sized_gateway: GatewayClient) -> None:
    store = sized_gateway.demo.descope.store(DESCOPE_TENANT_ID).groups
    member = next(iter(next(iter(store.values())).members))
    query = '{ tenant(id: "acme") { member(scimId: "%s") { groups { %s } } } }'
    sized_gateway.reset_logs()
    named = await sized_gateway.data(query % (member, "displayName"))
    by_name = sized_gateway.upstream("acme")
    whole = await sized_gateway.data(query % (member, "displayName externalId"))
    expected = {g.display_name: g.external_id for g in store.values() if member in g.members}
    assert {g["displayName"] for g in named["tenant"]["member"]["groups"]} == set(expected)
    assert {
        g["displayName"]: g["externalId"] for g in whole["tenant"]["member"]["groups"]
    } == expected
    assert by_name == 2  # its details and its groups, one management call each: no group read


async def test_members_details_and_groups_are_read_at_the_same_time(
    sized_demo: DemoEnvironment,
) -> None:
    base, env = demo_settings()
    transports = demo_transports(sized_demo)
    descope = transports["acme"] = WatchedTransport(transports["acme"])
    app = create_app(Settings(tenants=base.tenants), env=env, transports=transports)
    query = (
        '{ tenant(id: "acme") { groups(first: 5) { nodes { '
        "members { loginId groups { displayName } } } } } }"
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            answer = (await http.post("/graphql", json={"query": query})).json()
    assert "errors" not in answer
    members = [m for g in answer["data"]["tenant"]["groups"]["nodes"] for m in g["members"]]
    assert members and all(m["loginId"] and m["groups"] for m in members)
    # the page, then the management API twice (details, memberships): together, not in turn
    assert sized_demo.descope.log.total == 3
    assert descope.most == 2
