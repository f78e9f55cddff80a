"""Every query, against each backend kind, over POST /graphql."""

from __future__ import annotations

import pytest

from app.ids import encode_id
from tests.gateway.conftest import TENANTS, GatewayClient

PAGE = """
query Page($tenant: ID!, $first: Int, $after: String, $filter: GroupFilter) {
  tenant(id: $tenant) {
    groups(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id scimId displayName externalId memberCount } }
      nodes { scimId }
    }
  }
}
"""


async def test_tenants_lists_the_three_demo_tenants_with_their_backends(
    gateway: GatewayClient,
) -> None:
    data = await gateway.data("{ tenants { id name backend } }")
    assert data["tenants"] == [
        {"id": "acme", "name": "Acme Corp", "backend": "DESCOPE"},
        {"id": "globex", "name": "Globex", "backend": "CONDECO"},
        {"id": "initech", "name": "Initech", "backend": "SCIM"},
    ]
    assert sum(gateway.upstream(t) for t in TENANTS) == 0


@pytest.mark.parametrize("tenant", TENANTS)
async def test_paging_with_cursors_visits_every_group_exactly_once(
    gateway: GatewayClient, tenant: str
) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = await gateway.data(PAGE, {"tenant": tenant, "first": 7, "after": after})
        conn = data["tenant"]["groups"]
        assert conn["totalCount"] == 30
        assert [n["scimId"] for n in conn["nodes"]] == [e["node"]["scimId"] for e in conn["edges"]]
        assert conn["pageInfo"]["hasPreviousPage"] is (pages > 0)
        seen += [e["node"]["scimId"] for e in conn["edges"]]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        after = conn["pageInfo"]["endCursor"]
    assert pages == 5
    assert len(seen) == len(set(seen)) == 30


@pytest.mark.parametrize("tenant", TENANTS)
async def test_group_fields_and_members_come_from_the_backend(
    gateway: GatewayClient, tenant: str
) -> None:
    data = await gateway.data(
        """query($t: ID!) { tenant(id: $t) { groups(first: 3) { nodes {
             id scimId displayName memberCount created tenant { id }
             members { id scimId display userId tenant { id } } } } } }""",
        {"t": tenant},
    )
    nodes = data["tenant"]["groups"]["nodes"]
    assert len(nodes) == 3
    for node in nodes:
        assert node["id"] == encode_id("Group", tenant, node["scimId"])
        assert node["tenant"] == {"id": tenant}
        assert node["memberCount"] == len(node["members"]) >= 2
        assert node["created"] is not None
        for member in node["members"]:
            assert member["id"] == encode_id("Member", tenant, member["scimId"])
            assert member["userId"] == member["scimId"]
            assert member["display"]
            assert member["tenant"] == {"id": tenant}


@pytest.mark.parametrize("tenant", TENANTS)
async def test_display_name_filter_finds_one_group(gateway: GatewayClient, tenant: str) -> None:
    first = await gateway.data(PAGE, {"tenant": tenant, "first": 1})
    wanted = first["tenant"]["groups"]["edges"][0]["node"]
    data = await gateway.data(
        PAGE, {"tenant": tenant, "filter": {"displayName": {"eq": wanted["displayName"]}}}
    )
    conn = data["tenant"]["groups"]
    assert conn["totalCount"] == 1
    assert conn["nodes"] == [{"scimId": wanted["scimId"]}]


@pytest.mark.parametrize("tenant", TENANTS)
async def test_member_filter_and_member_groups_agree(gateway: GatewayClient, tenant: str) -> None:
    member = gateway.demo.user_ids[tenant][0]
    data = await gateway.data(
        """query($t: ID!, $m: String!, $f: GroupFilter) { tenant(id: $t) {
             groups(filter: $f, first: 200) { nodes { scimId } }
             member(scimId: $m) { scimId groups { scimId } } } }""",
        {"t": tenant, "m": member, "f": {"memberScimId": member}},
    )
    by_filter = sorted(n["scimId"] for n in data["tenant"]["groups"]["nodes"])
    assert by_filter
    assert sorted(g["scimId"] for g in data["tenant"]["member"]["groups"]) == by_filter


@pytest.mark.parametrize("tenant", TENANTS)
async def test_raw_scim_filter_is_sent_and_honoured(gateway: GatewayClient, tenant: str) -> None:
    data = await gateway.data(
        PAGE, {"tenant": tenant, "first": 200, "filter": {"scim": 'displayName sw "Project"'}}
    )
    names = [e["node"]["displayName"] for e in data["tenant"]["groups"]["edges"]]
    assert names
    assert all(n.startswith("Project") for n in names)


@pytest.mark.parametrize("tenant", TENANTS)
async def test_a_quote_in_a_filter_value_stays_a_value(gateway: GatewayClient, tenant: str) -> None:
    hostile = 'x" or displayName pr or displayName eq "'
    data = await gateway.data(PAGE, {"tenant": tenant, "filter": {"displayName": {"eq": hostile}}})
    assert data["tenant"]["groups"]["totalCount"] == 0


@pytest.mark.parametrize("tenant", TENANTS)
async def test_node_finds_groups_and_members_by_global_id(
    gateway: GatewayClient, tenant: str
) -> None:
    page = await gateway.data(PAGE, {"tenant": tenant, "first": 1})
    group = page["tenant"]["groups"]["edges"][0]["node"]
    member_id = gateway.demo.user_ids[tenant][1]
    data = await gateway.data(
        """query($g: ID!, $m: ID!) {
             g: node(id: $g) { __typename id ... on Group { scimId displayName } }
             m: node(id: $m) { __typename id ... on Member { scimId userId } } }""",
        {"g": group["id"], "m": encode_id("Member", tenant, member_id)},
    )
    assert data["g"] == {
        "__typename": "Group",
        "id": group["id"],
        "scimId": group["scimId"],
        "displayName": group["displayName"],
    }
    assert data["m"]["__typename"] == "Member"
    assert data["m"]["scimId"] == member_id


@pytest.mark.parametrize("tenant", TENANTS)
async def test_missing_group_and_member_are_null_not_errors(
    gateway: GatewayClient, tenant: str
) -> None:
    body = await gateway.post(
        """query($t: ID!, $g: ID!) { tenant(id: $t) { group(scimId: "G999999nope") { id }
             member(scimId: "999999999") { id } } node(id: $g) { id } }""",
        {"t": tenant, "g": encode_id("Group", tenant, "no-such-group")},
    )
    assert "errors" not in body
    assert body["data"] == {"tenant": {"group": None, "member": None}, "node": None}


async def test_descope_members_carry_login_ids_from_the_management_api(
    gateway: GatewayClient,
) -> None:
    data = await gateway.data(
        '{ tenant(id: "acme") { groups(first: 2) { nodes { members { loginId display } } } } }'
    )
    members = [m for n in data["tenant"]["groups"]["nodes"] for m in n["members"]]
    assert members
    assert all(m["loginId"] and "@" in m["loginId"] for m in members)


async def test_scim_members_carry_user_names_as_login_ids(gateway: GatewayClient) -> None:
    data = await gateway.data(
        '{ tenant(id: "initech") { groups(first: 2) { nodes { members { loginId } } } } }'
    )
    members = [m for n in data["tenant"]["groups"]["nodes"] for m in n["members"]]
    assert members
    assert all("@" in m["loginId"] for m in members)


async def test_merged_groups_span_all_tenants_sorted_and_page_without_repeats(
    gateway: GatewayClient,
) -> None:
    seen: list[tuple[str, str]] = []
    after = None
    while True:
        data = await gateway.data(
            """query($after: String) { groups(first: 25, after: $after) {
                 totalCount pageInfo { hasNextPage endCursor }
                 nodes { scimId displayName tenant { id } } } }""",
            {"after": after},
        )
        conn = data["groups"]
        assert conn["totalCount"] == 90
        seen += [(n["tenant"]["id"], n["scimId"]) for n in conn["nodes"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 90
    assert {t for t, _ in seen} == set(TENANTS)
