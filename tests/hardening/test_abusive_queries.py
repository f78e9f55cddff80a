"""Abusive queries are refused before any resolver runs, each with BAD_USER_INPUT.

Depth, aliases, tokens and cost are limited (the ``[limits]`` table); introspection can be
switched off; mutations never run over GET; a POST must be JSON, so a browser form cannot forge
one; batched operations are off.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.config import Limits
from app.emulators import DemoEnvironment
from tests.hardening.conftest import TENANTS, GatewayClient, open_hardened

CREATE = 'mutation { createGroup(input: {tenantId: "acme", displayName: "Forged"}) { id } }'
READ = '{ tenant(id: "acme") { groups(first: 1) { totalCount } } }'


@pytest.fixture
async def gateway(demo: DemoEnvironment) -> AsyncIterator[GatewayClient]:
    async for client in open_hardened(demo):
        yield client


def nothing_sent(gateway: GatewayClient) -> bool:
    return sum(gateway.upstream(t) for t in TENANTS) == 0


def refused(body: dict[str, Any], words: str) -> None:
    """No data; every error is BAD_USER_INPUT; one of them says ``words``."""
    assert body.get("data") is None
    assert body["errors"]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}
    assert any(words in e["message"] for e in body["errors"]), body["errors"]


async def test_a_query_deeper_than_the_limit_is_refused(gateway: GatewayClient) -> None:
    deep = "displayName"
    for _ in range(6):
        deep = f"members {{ groups {{ {deep} }} }}"
    query = f'{{ tenant(id: "acme") {{ groups(first: 1) {{ nodes {{ {deep} }} }} }} }}'
    refused(await gateway.post(query), "exceeds maximum operation depth of 10")
    assert nothing_sent(gateway)


async def test_too_many_aliases_are_refused(gateway: GatewayClient) -> None:
    aliases = " ".join(f"t{i}: tenants {{ id }}" for i in range(Limits().max_aliases + 1))
    refused(await gateway.post(f"{{ {aliases} }}"), "aliases")
    assert nothing_sent(gateway)


async def test_a_document_with_too_many_tokens_is_refused(gateway: GatewayClient) -> None:
    fields = " ".join(["id"] * Limits().max_tokens)
    refused(await gateway.post(f"{{ tenants {{ {fields} }} }}"), "tokens")
    assert nothing_sent(gateway)


EXPENSIVE = """query($n: Int) { groups(first: $n) { nodes {
  members { groups { members { groups { displayName } } } } } } }"""


async def test_a_query_whose_cost_is_too_high_is_refused_before_any_upstream_call(
    gateway: GatewayClient,
) -> None:
    refused(await gateway.post(EXPENSIVE, {"n": 200}), "too expensive")
    assert nothing_sent(gateway)


async def test_cost_reads_first_from_variables_so_a_small_page_of_the_same_query_runs(
    gateway: GatewayClient,
) -> None:
    body = await gateway.post(EXPENSIVE, {"n": 1})
    assert "errors" not in body
    assert len(body["data"]["groups"]["nodes"]) == 1


async def test_cost_reads_a_variable_first_inside_a_fragment(gateway: GatewayClient) -> None:
    query = """query($n: Int) { ...Page }
    fragment Page on Query { groups(first: $n) { nodes {
      members { groups { members { groups { displayName } } } } } } }"""
    refused(await gateway.post(query, {"n": 200}), "too expensive")
    assert nothing_sent(gateway)
    assert "errors" not in await gateway.post(query, {"n": 1})


async def test_variables_that_are_not_a_first_leave_the_cost_to_the_text(
    gateway: GatewayClient,
) -> None:
    query = EXPENSIVE.replace("$n: Int", "$id: ID!").replace("first: $n", "first: 200")
    query = query.replace("{ groups", "{ node(id: $id) { id } groups", 1)
    refused(await gateway.post(query, {"id": "unused"}), "too expensive")
    refused(await gateway.post(query, {"id": "unused"}), "too expensive")  # cached verdict
    assert nothing_sent(gateway)


async def test_aliases_multiply_cost(demo: DemoEnvironment) -> None:
    page = "groups(first: 100) { nodes { displayName } }"
    # One page costs 100 x (groups + nodes + displayName) = 300.
    async for gateway in open_hardened(demo, limits={"max_cost": 500}):
        assert "errors" not in await gateway.post(f"{{ a: {page} }}")
        gateway.reset_logs()
        refused(await gateway.post(f"{{ a: {page} b: {page} c: {page} }}"), "too expensive")
        # A document without variables has its verdict cached: the same the second time.
        refused(await gateway.post(f"{{ a: {page} b: {page} c: {page} }}"), "too expensive")
        assert nothing_sent(gateway)
        assert "errors" not in await gateway.post(f"{{ a: {page} }}")


INTROSPECT = "{ __schema { queryType { name } } }"


async def test_introspection_is_on_by_default_for_graphiql(gateway: GatewayClient) -> None:
    body = await gateway.post(INTROSPECT)
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_introspection_can_be_switched_off(demo: DemoEnvironment) -> None:
    async for gateway in open_hardened(demo, limits={"introspection": False}):
        refused(await gateway.post(INTROSPECT), "introspection")
        refused(await gateway.post('{ __type(name: "Group") { name } }'), "introspection")
        assert "errors" not in await gateway.post(READ)


async def test_other_validation_errors_carry_bad_user_input_too(gateway: GatewayClient) -> None:
    refused(await gateway.post("{ tenants { nope } }"), "nope")
    refused(await gateway.post("{ tenants { "), "Syntax Error")
    refused(await gateway.post("query($n: Int!) { groups(first: $n) { totalCount } }"), "$n")


async def test_mutations_are_never_run_over_get(gateway: GatewayClient) -> None:
    response = await gateway.http.get("/graphql", params={"query": CREATE})
    assert response.status_code in (400, 405)
    assert "mutations are not allowed when using GET" in response.text
    assert "Traceback" not in response.text
    assert nothing_sent(gateway)


async def test_queries_over_get_still_work(gateway: GatewayClient) -> None:
    response = await gateway.http.get("/graphql", params={"query": READ})
    assert response.status_code == 200
    assert response.json()["data"]["tenant"]["groups"]["totalCount"] == 30


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", f"query={CREATE}"),
        ("text/plain", '{"query": "' + CREATE.replace('"', '\\"') + '"}'),
        ("text/plain; charset=application/json", '{"query": "{ tenants { id } }"}'),
        (
            "multipart/form-data; boundary=x",
            f'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{CREATE}\r\n--x--\r\n',
        ),
    ],
)
async def test_a_post_a_browser_form_could_send_is_refused_before_any_resolver(
    gateway: GatewayClient, content_type: str, body: str
) -> None:
    response = await gateway.http.post(
        "/graphql", content=body.encode(), headers={"Content-Type": content_type}
    )
    assert 400 <= response.status_code < 500
    assert nothing_sent(gateway)
    listed = await gateway.data('{ tenant(id: "acme") { groups(first: 1) { totalCount } } }')
    assert listed["tenant"]["groups"]["totalCount"] == 30  # nothing was created


async def test_a_batch_of_operations_is_refused(gateway: GatewayClient) -> None:
    response = await gateway.http.post("/graphql", json=[{"query": READ}, {"query": READ}])
    assert response.status_code == 400
    assert "Batching is not enabled" in response.text
    assert nothing_sent(gateway)
