"""Every mutation, against each backend kind; bad input never reaches a backend."""

from __future__ import annotations

from typing import Any

import pytest

from app.ids import encode_id
from tests.gateway.conftest import TENANTS, GatewayClient

FIELDS = "id scimId displayName externalId memberCount version members { scimId }"
CREATE = f"mutation($i: CreateGroupInput!) {{ createGroup(input: $i) {{ {FIELDS} }} }}"
UPDATE = f"mutation($i: UpdateGroupInput!) {{ updateGroup(input: $i) {{ {FIELDS} }} }}"
REPLACE = f"mutation($i: ReplaceGroupInput!) {{ replaceGroup(input: $i) {{ {FIELDS} }} }}"
ADD = f"mutation($i: GroupMembersInput!) {{ addGroupMembers(input: $i) {{ {FIELDS} }} }}"
REMOVE = f"mutation($i: GroupMembersInput!) {{ removeGroupMembers(input: $i) {{ {FIELDS} }} }}"
SET = f"mutation($i: GroupMembersInput!) {{ setGroupMembers(input: $i) {{ {FIELDS} }} }}"
DELETE = "mutation($i: DeleteGroupInput!) { deleteGroup(input: $i) { deletedGroupId } }"
READ = f"query($id: ID!) {{ node(id: $id) {{ ... on Group {{ {FIELDS} }} }} }}"


def members(group: dict[str, Any]) -> list[str]:
    return sorted(m["scimId"] for m in group["members"])


async def create(gateway: GatewayClient, tenant: str, name: str, users: list[str]) -> Any:
    data = await gateway.data(
        CREATE,
        {
            "i": {
                "tenantId": tenant,
                "displayName": name,
                "externalId": "ext-1",
                "memberScimIds": users,
            }
        },
    )
    return data["createGroup"]


@pytest.mark.parametrize("tenant", TENANTS)
async def test_created_group_is_returned_with_its_members_and_readable_after(
    gateway: GatewayClient, tenant: str
) -> None:
    users = gateway.demo.user_ids[tenant][:3]
    group = await create(gateway, tenant, "Platform Guild", users)
    assert group["displayName"] == "Platform Guild"
    assert group["externalId"] == "ext-1"
    assert members(group) == sorted(users)
    assert group["memberCount"] == 3
    assert group["id"] == encode_id("Group", tenant, group["scimId"])
    again = await gateway.data(READ, {"id": group["id"]})
    assert members(again["node"]) == sorted(users)


@pytest.mark.parametrize("tenant", TENANTS)
async def test_membership_mutations_add_remove_and_set(gateway: GatewayClient, tenant: str) -> None:
    u = gateway.demo.user_ids[tenant][:5]
    group = await create(gateway, tenant, "Rotation", u[:2])
    gid = group["id"]
    added = await gateway.data(ADD, {"i": {"id": gid, "memberScimIds": u[2:4]}})
    assert members(added["addGroupMembers"]) == sorted(u[:4])
    removed = await gateway.data(REMOVE, {"i": {"id": gid, "memberScimIds": [u[0], u[3]]}})
    assert members(removed["removeGroupMembers"]) == sorted([u[1], u[2]])
    replaced = await gateway.data(SET, {"i": {"id": gid, "memberScimIds": [u[4]]}})
    assert members(replaced["setGroupMembers"]) == [u[4]]
    emptied = await gateway.data(SET, {"i": {"id": gid, "memberScimIds": []}})
    assert emptied["setGroupMembers"]["memberCount"] == 0
    assert (await gateway.data(READ, {"id": gid}))["node"]["memberCount"] == 0


@pytest.mark.parametrize("tenant", TENANTS)
async def test_update_patches_names_and_keeps_members(gateway: GatewayClient, tenant: str) -> None:
    u = gateway.demo.user_ids[tenant][:2]
    group = await create(gateway, tenant, "Old Name", u)
    data = await gateway.data(
        UPDATE, {"i": {"id": group["id"], "displayName": "New Name", "externalId": "ext-2"}}
    )
    updated = data["updateGroup"]
    assert (updated["displayName"], updated["externalId"]) == ("New Name", "ext-2")
    assert members(updated) == sorted(u)


@pytest.mark.parametrize("tenant", TENANTS)
async def test_replace_puts_the_whole_group(gateway: GatewayClient, tenant: str) -> None:
    u = gateway.demo.user_ids[tenant][:4]
    group = await create(gateway, tenant, "Before", u[:2])
    data = await gateway.data(
        REPLACE,
        {
            "i": {
                "id": group["id"],
                "displayName": "After",
                "externalId": "ext-9",
                "memberScimIds": u[2:],
            }
        },
    )
    replaced = data["replaceGroup"]
    assert (replaced["displayName"], replaced["externalId"]) == ("After", "ext-9")
    assert members(replaced) == sorted(u[2:])


@pytest.mark.parametrize("tenant", TENANTS)
async def test_deleted_group_is_gone(gateway: GatewayClient, tenant: str) -> None:
    group = await create(gateway, tenant, "Short Lived", [])
    data = await gateway.data(DELETE, {"i": {"id": group["id"]}})
    assert data["deleteGroup"] == {"deletedGroupId": group["id"]}
    assert (await gateway.data(READ, {"id": group["id"]}))["node"] is None
    body = await gateway.post(DELETE, {"i": {"id": group["id"]}})
    assert body["errors"][0]["extensions"] == {
        "code": "NOT_FOUND",
        "tenant": tenant,
        "upstreamStatus": 404,
    }


async def test_stale_if_match_is_a_precondition_failure_on_an_etag_backend(
    gateway: GatewayClient,
) -> None:
    group = await create(gateway, "initech", "Versioned", [])
    assert group["version"]
    await gateway.data(
        UPDATE, {"i": {"id": group["id"], "displayName": "v2", "ifMatch": group["version"]}}
    )
    body = await gateway.post(
        UPDATE, {"i": {"id": group["id"], "displayName": "v3", "ifMatch": group["version"]}}
    )
    assert body["errors"][0]["extensions"]["code"] == "PRECONDITION_FAILED"
    assert (await gateway.data(READ, {"id": group["id"]}))["node"]["displayName"] == "v2"


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (CREATE, {"i": {"tenantId": "acme", "displayName": "   "}}, "displayName"),
        (CREATE, {"i": {"tenantId": "acme", "displayName": "x" * 257}}, "displayName"),
        (CREATE, {"i": {"tenantId": "acme", "displayName": "ok", "memberScimIds": [""]}}, "member"),
        (UPDATE, {"i": {"id": "not-a-global-id!"}}, "id"),
        (UPDATE, {"i": {"id": encode_id("Member", "acme", "x"), "displayName": "a"}}, "Group"),
        (UPDATE, {"i": {"id": encode_id("Group", "acme", "x")}}, "nothing to update"),
        (ADD, {"i": {"id": encode_id("Group", "acme", "x"), "memberScimIds": []}}, "empty"),
    ],
)
async def test_bad_input_is_refused_before_any_upstream_call(
    gateway: GatewayClient, query: str, variables: dict[str, Any], message: str
) -> None:
    body = await gateway.post(query, variables)
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]
    assert sum(gateway.upstream(t) for t in TENANTS) == 0


async def test_create_on_an_unknown_tenant_is_not_found_without_upstream_calls(
    gateway: GatewayClient,
) -> None:
    body = await gateway.post(CREATE, {"i": {"tenantId": "nope", "displayName": "x"}})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert sum(gateway.upstream(t) for t in TENANTS) == 0
