"""Subtrees encoded as they complete (``Context.encode_early``, app/schema/execution.py).

A tenant's page completed from a plan is encoded to JSON as soon as its read is done, so that
with several tenants only the slowest one's is encoded after it. The answer's bytes must be
those of the whole answer encoded at the end.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.emulators import DemoEnvironment
from app.http.graphql import GraphQLApp
from app.schema.context import Context
from tests.gateway.conftest import open_client, small_demo

PAGE = "groups(first: 12) { totalCount nodes { displayName members { display groups { id } } } }"
TENANTS = f"{{ tenants {{ id {PAGE} }} }}"


async def _served(
    demo: DemoEnvironment, query: str, variables: dict[str, Any], *, plain: bool = False
) -> tuple[bytes, list[Any]]:
    """The answer's bytes as served, and what the view handed its encoder."""
    encoded: list[Any] = []
    encode = GraphQLApp.encode_json

    def spying(self: GraphQLApp, data: object) -> bytes:
        encoded.append(data)
        return encode(self, data)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GraphQLApp, "encode_json", spying)
        async for client in open_client(demo):
            if plain:
                client.app.state.schema.execution_context_class = (
                    StrawberryGraphQLCoreExecutionContext
                )
            response = await client.http.post(
                "/graphql", json={"query": query, "variables": variables}
            )
            assert response.status_code == 200
    return response.content, encoded


async def test_each_tenants_page_is_encoded_when_it_completes_but_the_last() -> None:
    """initech's backend is slowest: acme's and globex's pages are encoded while it is read;
    initech's, the last, is left to the answer's encoder (encoding it early adds a copy)."""
    demo = small_demo()
    demo.scim.faults.latency = 0.2
    served, [answer] = await _served(demo, TENANTS, {})
    plain, [plain_answer] = await _served(demo, TENANTS, {}, plain=True)
    pages = {t["id"]: t["groups"] for t in answer["data"]["tenants"]}
    assert isinstance(pages["acme"], orjson.Fragment)
    assert isinstance(pages["globex"], orjson.Fragment)
    assert isinstance(pages["initech"], dict)
    plain_pages = [tenant["groups"] for tenant in plain_answer["data"]["tenants"]]
    assert not any(isinstance(page, orjson.Fragment) for page in plain_pages)
    assert served == plain == orjson.dumps(plain_answer)  # the same bytes, key order included
    assert b'"totalCount":30' in served


async def test_a_lone_page_is_left_to_the_answers_encoder() -> None:
    query = f'{{ tenant(id: "acme") {{ {PAGE} }} }}'
    served, [answer] = await _served(small_demo(), query, {})
    assert isinstance(answer["data"]["tenant"]["groups"], dict)
    assert served == orjson.dumps(answer)


async def test_an_awaited_field_below_one_still_waiting_is_left_to_the_encoder() -> None:
    """A member's groups are awaited inside ``node``, itself awaited: nothing else waits when
    they complete, so they are not encoded on their own."""
    demo = small_demo()
    first = '{ tenant(id: "acme") { groups(first: 1) { nodes { members { id } } } } }'
    _, [answer] = await _served(demo, first, {})
    member = answer["data"]["tenant"]["groups"]["nodes"][0]["members"][0]["id"]
    query = "query ($id: ID!) { node(id: $id) { ... on Member { groups { displayName } } } }"
    served, [answer] = await _served(demo, query, {"id": member})
    assert isinstance(answer["data"]["node"]["groups"], list) and answer["data"]["node"]["groups"]
    assert served == orjson.dumps(answer)


async def test_not_with_a_directive_in_the_document() -> None:
    """``@skip``/``@include`` (like ``@defer``) leave subtrees as they are."""
    query = f"query ($on: Boolean!) {{ tenants {{ id @include(if: $on) {PAGE} }} }}"
    served, [answer] = await _served(small_demo(), query, {"on": True})
    assert all(isinstance(t["groups"], dict) for t in answer["data"]["tenants"])
    assert served == orjson.dumps(answer)


async def test_not_outside_the_view(demo: DemoEnvironment) -> None:
    """``schema.execute`` in process (no orjson encoder behind it) gets plain data."""
    async for client in open_client(demo):
        gateway = client.app.state.gateway
        context = Context(gateway, gateway.authenticator.authenticate(None), None)
        try:
            result = await client.app.state.schema.execute(TENANTS, context_value=context)
        finally:
            context.close()
    assert result.errors is None and result.data is not None
    assert all(isinstance(t["groups"], dict) for t in result.data["tenants"])
