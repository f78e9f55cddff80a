"""With [[clients]] configured, a key sees only its tenants, on every path, and readers never
write. A missing or wrong key is UNAUTHENTICATED before any upstream call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.config import ClientConfig
from app.emulators import DemoEnvironment
from app.ids import encode_cursor, encode_id
from tests.gateway.conftest import TENANTS, GatewayClient, open_client

READER_ACME = "reader-acme-key-0123456789"
ADMIN_ACME = "admin-acme-key-0123456789"
ADMIN_ALL = "admin-all-key-0123456789"
CLIENTS = [
    ClientConfig(name="acme-frontend", key_env="K_READER", role="reader", tenants=["acme"]),
    ClientConfig(name="acme-admin", key_env="K_ADMIN", role="admin", tenants=["acme"]),
    ClientConfig(name="platform", key_env="K_ALL", role="admin", tenants=["*"]),
]
KEYS = {"K_READER": READER_ACME, "K_ADMIN": ADMIN_ACME, "K_ALL": ADMIN_ALL}


@pytest.fixture
async def locked(demo: DemoEnvironment) -> AsyncIterator[GatewayClient]:
    async for client in open_client(demo, clients=CLIENTS, extra_env=KEYS, key=ADMIN_ALL):
        client.reset_logs()
        yield client


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def a_group_of(gateway: GatewayClient, tenant: str) -> dict[str, Any]:
    data = await gateway.data(
        """query($t: ID!) { tenant(id: $t) {
             groups(first: 1) { edges { cursor node { id scimId } } } } }""",
        {"t": tenant},
    )
    edge: dict[str, Any] = data["tenant"]["groups"]["edges"][0]
    return edge


@pytest.mark.parametrize("key", [None, "", "wrong-key", READER_ACME + "x", "Basic abc"])
async def test_missing_or_wrong_key_is_unauthenticated_without_upstream_calls(
    locked: GatewayClient, key: str | None
) -> None:
    locked.key = None
    headers = (
        {}
        if key is None
        else {"Authorization": key if key.startswith("Basic") else f"Bearer {key}"}
    )
    response = await locked.http.post(
        "/graphql", json={"query": "{ tenants { id groups { totalCount } } }"}, headers=headers
    )
    body = response.json()
    assert body["data"] is None
    assert codes(body) == ["UNAUTHENTICATED"]
    assert sum(locked.upstream(t) for t in TENANTS) == 0


async def test_a_reader_sees_only_its_tenant_everywhere(locked: GatewayClient) -> None:
    other = await a_group_of(locked, "globex")
    other_member = locked.demo.user_ids["globex"][0]
    locked.reset_logs()
    body = await locked.post(
        """query($g: ID!, $m: ID!) {
             tenants { id }
             globex: tenant(id: "globex") { id }
             g: node(id: $g) { id }
             m: node(id: $m) { id }
             groups(first: 200) { totalCount nodes { tenant { id } } } }""",
        {"g": other["node"]["id"], "m": encode_id("Member", "globex", other_member)},
        key=READER_ACME,
    )
    assert "errors" not in body
    data = body["data"]
    assert data["tenants"] == [{"id": "acme"}]
    assert data["globex"] is None and data["g"] is None and data["m"] is None
    assert {n["tenant"]["id"] for n in data["groups"]["nodes"]} == {"acme"}
    assert data["groups"]["totalCount"] == 30
    assert locked.upstream("globex") == 0 and locked.upstream("initech") == 0


async def test_a_cursor_made_for_another_tenant_is_refused(locked: GatewayClient) -> None:
    other = await a_group_of(locked, "globex")
    body = await locked.post(
        'query($c: String) { tenant(id: "acme") { groups(after: $c) { totalCount } } }',
        {"c": other["cursor"]},
        key=READER_ACME,
    )
    assert codes(body) == ["BAD_USER_INPUT"]
    merged_cursor = encode_cursor('m:{"globex":3}')
    body = await locked.post(
        "query($c: String) { groups(after: $c) { totalCount } }",
        {"c": merged_cursor},
        key=READER_ACME,
    )
    assert codes(body) == ["BAD_USER_INPUT"]


MUTATIONS = {
    "createGroup": ("CreateGroupInput", lambda gid, t: {"tenantId": t, "displayName": "x"}),
    "updateGroup": ("UpdateGroupInput", lambda gid, t: {"id": gid, "displayName": "x"}),
    "replaceGroup": ("ReplaceGroupInput", lambda gid, t: {"id": gid, "displayName": "x"}),
    "addGroupMembers": ("GroupMembersInput", lambda gid, t: {"id": gid, "memberScimIds": ["1"]}),
    "removeGroupMembers": (
        "GroupMembersInput",
        lambda gid, t: {"id": gid, "memberScimIds": ["1"]},
    ),
    "setGroupMembers": ("GroupMembersInput", lambda gid, t: {"id": gid, "memberScimIds": []}),
    "deleteGroup": ("DeleteGroupInput", lambda gid, t: {"id": gid}),
}


def mutation(name: str) -> str:
    input_type = MUTATIONS[name][0]
    selection = "{ deletedGroupId }" if name == "deleteGroup" else "{ id }"
    return f"mutation($i: {input_type}!) {{ {name}(input: $i) {selection} }}"


@pytest.mark.parametrize("name", sorted(MUTATIONS))
async def test_a_reader_cannot_mutate_its_own_tenant(locked: GatewayClient, name: str) -> None:
    own = await a_group_of(locked, "acme")
    locked.reset_logs()
    body = await locked.post(
        mutation(name), {"i": MUTATIONS[name][1](own["node"]["id"], "acme")}, key=READER_ACME
    )
    assert codes(body) == ["FORBIDDEN"]
    assert sum(locked.upstream(t) for t in TENANTS) == 0


@pytest.mark.parametrize("name", sorted(MUTATIONS))
async def test_an_admin_of_one_tenant_cannot_touch_another(
    locked: GatewayClient, name: str
) -> None:
    other = await a_group_of(locked, "globex")
    locked.reset_logs()
    body = await locked.post(
        mutation(name), {"i": MUTATIONS[name][1](other["node"]["id"], "globex")}, key=ADMIN_ACME
    )
    assert codes(body) == ["NOT_FOUND"]
    assert sum(locked.upstream(t) for t in TENANTS) == 0
    still = await locked.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": other["node"]["id"]}
    )
    assert still["node"] == {"id": other["node"]["id"]}


async def test_an_admin_key_mutates_its_tenant(locked: GatewayClient) -> None:
    body = await locked.post(
        mutation("createGroup"), {"i": {"tenantId": "acme", "displayName": "Ok"}}, key=ADMIN_ACME
    )
    assert "errors" not in body
    assert body["data"]["createGroup"]["id"]
