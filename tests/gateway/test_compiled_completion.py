"""Compiled completion plans (app/schema/execution.py) answer exactly what graphql-core does.

Each query runs twice, on two fresh gateways over the same emulators: once as served, once with
Strawberry's own executor. The answers, errors included, must be the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.emulators import DemoEnvironment
from app.schema import execution
from app.schema.execution import GatewayExecutor
from tests.gateway.conftest import open_client, small_demo

Setup = Callable[[DemoEnvironment], None]

PAGE = """
{ tenants { id __typename backend groups(first: 40) { nodes {
    __typename id MISS: displayName value: displayName externalId memberCount created version
    members { complete: display type userId loginId __typename
              groups { displayName id scimId lastModified } } } } } }
"""
FRAGMENTS = """
query ($on: Boolean!) { tenant(id: "globex") { groups(first: 5) {
    edges { cursor node { ...G } } pageInfo { hasNextPage endCursor } } } }
fragment G on Group { displayName @skip(if: $on) members { ... on Member {
    display @include(if: $on) groups { ... on Node { id } displayName ...N } } } }
fragment N on Group { memberCount scimId }
"""
MEMBER_NODE = """
query ($id: ID!) { node(id: $id) { __typename ... on Member { display groups { displayName } } } }
"""


async def _answer(
    demo: DemoEnvironment,
    query: str,
    variables: dict[str, Any],
    *,
    compiled: bool,
    warm: str | None = None,
    setup: Setup | None = None,
) -> tuple[dict[str, Any], int]:
    """The answer on a fresh gateway, and how many objects a compiled plan completed."""
    completed = 0
    attempt = execution._attempt

    def counting(complete: Any, value: Any, memo: dict[int, Any]) -> Any:
        nonlocal completed
        out = attempt(complete, value, memo)
        completed += out is not execution._MISS
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(execution, "_attempt", counting)
        for emulator in (demo.descope, demo.condeco, demo.scim):
            emulator.faults.reset()
        async for client in open_client(demo):
            schema = client.app.state.schema
            assert schema.execution_context_class is GatewayExecutor
            if not compiled:
                schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
            if warm is not None:
                await client.post(warm)
            if setup is not None:
                setup(client.demo)
            body = await client.post(query, variables)
    return body, completed


async def _same(
    query: str,
    variables: dict[str, Any] | None = None,
    demo: DemoEnvironment | None = None,
    **kw: Any,
) -> dict[str, Any]:
    demo = demo or small_demo()
    fast, compiled = await _answer(demo, query, variables or {}, compiled=True, **kw)
    plain, none = await _answer(demo, query, variables or {}, compiled=False, **kw)
    assert none == 0
    assert fast == plain
    assert compiled > 0, "the compiled path was never taken"
    return fast


async def test_a_page_with_members_and_their_groups() -> None:
    demo = small_demo()
    demo.condeco.store.create("Nobody yet", None)  # memberCount 0, members [], externalId null
    body = await _same(PAGE, demo=demo)
    assert "errors" not in body
    groups = [g for t in body["data"]["tenants"] for g in t["groups"]["nodes"]]
    assert len(groups) == 91
    [empty] = [g for g in groups if g["memberCount"] == 0]
    assert empty["members"] == [] and empty["externalId"] is None
    assert all(g["MISS"] == g["value"] and g["__typename"] == "Group" for g in groups)
    members = [m for g in groups for m in g["members"]]
    assert members and all(m["groups"] for m in members)
    assert any(m["loginId"] is None for m in members)  # a nullable leaf that is null


@pytest.mark.parametrize("on", [True, False])
async def test_fragments_and_skip_include(on: bool) -> None:
    body = await _same(FRAGMENTS, {"on": on})
    node = body["data"]["tenant"]["groups"]["edges"][0]["node"]
    assert ("displayName" in node) is not on
    assert ("display" in node["members"][0]) is on
    assert set(node["members"][0]["groups"][0]) == {"id", "displayName", "memberCount", "scimId"}


async def test_a_member_whose_groups_were_not_prefetched_is_loaded() -> None:
    warm = '{ tenant(id: "acme") { groups(first: 1) { nodes { members { id } } } } }'
    first, _ = await _answer(small_demo(), warm, {}, compiled=False)
    member_id = first["data"]["tenant"]["groups"]["nodes"][0]["members"][0]["id"]
    body = await _same(MEMBER_NODE, {"id": member_id})
    assert body["data"]["node"]["groups"]


@pytest.mark.parametrize("status", [400, 500])
async def test_failed_members_groups_fail_at_the_same_paths(status: int) -> None:
    """The page is read, then reading the members' groups fails: the errors (paths, codes,
    null propagation) are graphql-core's. (The warm-up reads a filtered listing: it fetches
    the token but leaves the tenant's size unknown, so the page is read on its own and the
    members' groups after it, rather than all of it in one listing of the tenant.)"""

    def fail_after_page(demo: DemoEnvironment) -> None:
        demo.condeco.faults.pass_next(1)
        demo.condeco.faults.fail_next(10, status)

    query = '{ tenant(id: "globex") { groups(first: 4) { nodes { displayName members {'
    query += " display groups { displayName } } } } } }"
    warm = '{ tenant(id: "globex") { groups(first: 1, filter: { displayName: { eq: "-" } }) {'
    warm += " totalCount } } }"
    demo = small_demo()
    fast, _ = await _answer(demo, query, {}, compiled=True, warm=warm, setup=fail_after_page)
    plain, _ = await _answer(demo, query, {}, compiled=False, warm=warm, setup=fail_after_page)
    assert fast == plain
    assert fast["errors"]
    assert fast["data"]["tenant"]["groups"] is None


MERGED = """
{ groups(first: 40) { totalCount edges { cursor node { tenant { id } displayName
    members { display loginId groups { displayName memberCount } } } } } }
"""


async def test_merged_groups_of_all_tenants_with_members() -> None:
    body = await _same(MERGED)
    assert "errors" not in body
    nodes = [e["node"] for e in body["data"]["groups"]["edges"]]
    assert {n["tenant"]["id"] for n in nodes} == {"acme", "globex", "initech"}
    assert all(n["members"] for n in nodes)


async def test_plans_outlive_the_operation_when_the_document_has_no_directive() -> None:
    """The same text brings the same parsed document, so its plans are built once."""
    compiled: list[str] = []
    compile_ = GatewayExecutor._compile

    def counting(self: GatewayExecutor, type_: Any, details: Any) -> Any:
        compiled.append(type_.name)
        return compile_(self, type_, details)

    query = '{ tenant(id: "acme") { groups(first: 3) { nodes { displayName memberCount '
    query += "members { display groups { displayName } } } } } }"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GatewayExecutor, "_compile", counting)
        async for client in open_client(small_demo()):
            first = await client.post(query)
            built = len(compiled)
            again = await client.post(query)
            same_text_elsewhere = await client.post(" " + query)
    assert "errors" not in first and again == first == same_text_elsewhere
    assert built > 0 and "Group" in compiled
    assert len(compiled) == 2 * built  # the second text is another document: built again


async def test_skip_and_include_follow_each_requests_variables() -> None:
    """Plans of a document with directives depend on its variables: never reused."""
    async for client in open_client(small_demo()):
        for on in (True, False, True, False):
            body = await client.post(FRAGMENTS, {"on": on})
            node = body["data"]["tenant"]["groups"]["edges"][0]["node"]
            assert ("displayName" in node) is not on
            assert ("display" in node["members"][0]) is on


async def test_plans_are_kept_for_a_bounded_number_of_operations() -> None:
    """Each kept operation holds its document's tokens: distinct texts must not pile up."""
    async for client in open_client(small_demo()):
        for n in range(execution.LASTING_OPERATIONS + 20):
            body = await client.post(f'{{ tenant(id: "acme") {{ n{n}: name }} }}')
            assert body["data"]["tenant"] == {f"n{n}": "Acme Corp"}
            assert len(execution._LASTING) <= execution.LASTING_OPERATIONS
