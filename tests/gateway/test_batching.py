"""Batching is the point of the design: upstream requests per tenant stay flat in page size.

The query reads a page of groups, each group's members and each member's groups: naively
1 + N + N*20 requests per tenant. Through the loaders it is a small constant per tenant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.emulators import DemoEnvironment, build_demo
from tests.gateway.conftest import TENANTS, GatewayClient, open_client

QUERY = """query($n: Int) { tenants { id groups(first: $n) {
  nodes { displayName members { display groups { displayName } } } } } }"""

# One list page, then for Descope one management call for all members' groups plus the
# groups not on the page (two 100-group pages); Condeco one scan of the tenant (no .search);
# scim one POST /Groups/.search paged at 100.
EXPECTED = {"acme": 4, "globex": 2, "initech": 3}


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
