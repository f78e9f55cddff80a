"""The schema runs the gateway's steps itself unless another extension (tracing) needs
Strawberry's extension path; both paths must answer every request alike.

Two gateways over identical demo directories, one with tracing on (Strawberry's path) and one
without (the schema's own): every request below gets the same status and the same body from
both, and both count it in the same metric series.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from app.config import ClientConfig
from app.ids import encode_id
from app.schema.limits import GatewaySchema
from tests.gateway.conftest import GatewayClient, open_client, small_demo

KEY = "platform-admin-key-0123456789"
CLIENTS = [ClientConfig(name="platform", key_env="K_ADMIN", role="admin", tenants=["*"])]
AUTH = {"Authorization": f"Bearer {KEY}"}
PAGE = "{ tenants { id groups(first: 3) { nodes { displayName members { display } } } } }"


def _operations(side: GatewayClient) -> dict[tuple[str, ...], float]:
    """The ``scim_gateway_graphql_requests`` series counted so far."""
    registry = side.app.state.metrics.registry
    return {
        tuple(sample.labels.values()): sample.value
        for metric in registry.collect()
        if metric.name == "scim_gateway_graphql_requests"
        for sample in metric.samples
        if sample.name.endswith("_total")
    }


@asynccontextmanager
async def _side(*, tracing: bool) -> AsyncIterator[GatewayClient]:
    provider = TracerProvider() if tracing else None
    async for side in open_client(
        small_demo(), clients=CLIENTS, extra_env={"K_ADMIN": KEY}, tracer_provider=provider
    ):
        schema = side.app.state.schema
        assert isinstance(schema, GatewaySchema) and schema.own_steps is not tracing
        yield side
    if provider is not None:
        provider.shutdown()


@pytest.fixture
async def sides() -> AsyncIterator[tuple[GatewayClient, GatewayClient]]:
    async with _side(tracing=False) as own, _side(tracing=True) as strawberry_path:
        yield own, strawberry_path


async def _both(
    sides: tuple[GatewayClient, GatewayClient], method: str, **kwargs: Any
) -> list[Any]:
    answers = []
    for side in sides:
        response = await side.http.request(method, "/graphql", **kwargs)
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        answers.append((response.status_code, body))
    assert answers[0] == answers[1]
    assert _operations(sides[0]) == _operations(sides[1])
    return answers[0]  # type: ignore[no-any-return]


DEEP = "{ tenants { groups(first: 1) { nodes { members { groups { members { groups { members "
DEEP += "{ groups { members { groups { id } } } } } } } } } } } }"
CASES: dict[str, dict[str, Any]] = {
    "a page": {"json": {"query": PAGE}, "headers": AUTH},
    "variables": {
        "json": {
            "query": "query One($id: ID!) { tenant(id: $id) { id name } }",
            "variables": {"id": "globex"},
            "operationName": "One",
        },
        "headers": AUTH,
    },
    "a syntax error": {"json": {"query": "{ tenants { id "}, "headers": AUTH},
    "an unknown field": {"json": {"query": "{ tenants { nope } }"}, "headers": AUTH},
    "too deep": {"json": {"query": DEEP}, "headers": AUTH},
    "too expensive": {
        "json": {
            "query": "query Q($n: Int) { tenants { groups(first: $n) { nodes "
            "{ members { groups { members { id } } } } } } }",
            "variables": {"n": 200},
        },
        "headers": AUTH,
    },
    "a variable of the wrong type": {
        "json": {
            "query": "query Q($n: Int) { tenants { groups(first: $n) { totalCount } } }",
            "variables": {"n": "many"},
        },
        "headers": AUTH,
    },
    "no key": {"json": {"query": PAGE}},
    "no key, an unknown field": {"json": {"query": "{ tenants { nope } }"}},
    "a wrong key": {"json": {"query": PAGE}, "headers": {"Authorization": "Bearer nope"}},
    "an invalid id": {"json": {"query": '{ node(id: "bm9wZQ==") { id } }'}, "headers": AUTH},
    "a group that is not there": {
        "json": {"query": f'{{ node(id: "{encode_id("Group", "acme", "nope")}") {{ id }} }}'},
        "headers": AUTH,
    },
    "a mutation refused upstream": {
        "json": {
            "query": "mutation D($id: ID!) { deleteGroup(input: {id: $id}) { deletedGroupId } }",
            "variables": {"id": encode_id("Group", "acme", "nope")},
        },
        "headers": AUTH,
    },
    "no query": {"json": {"variables": {}}, "headers": AUTH},
    "an unknown operation name": {
        "json": {"query": "query A { tenants { id } }", "operationName": "B"},
        "headers": AUTH,
    },
}


@pytest.mark.parametrize("case", CASES)
async def test_both_paths_answer_alike(
    sides: tuple[GatewayClient, GatewayClient], case: str
) -> None:
    await _both(sides, "POST", **CASES[case])


async def test_a_mutation_over_get_is_refused_alike(
    sides: tuple[GatewayClient, GatewayClient],
) -> None:
    mutation = 'mutation { deleteGroup(input: {id: "x"}) { deletedGroupId } }'
    status, _ = await _both(sides, "GET", params={"query": mutation}, headers=AUTH)
    assert status in {400, 405}


async def test_a_tenant_down_is_a_partial_answer_alike(
    sides: tuple[GatewayClient, GatewayClient],
) -> None:
    merged = "{ groups(first: 5) { nodes { displayName tenant { id } } } }"
    for side in sides:
        side.demo.scim.faults.fail_next(10, 503)
    status, body = await _both(sides, "POST", json={"query": merged}, headers=AUTH)
    assert status == 200 and body["data"]["groups"]["nodes"]
    assert [e["extensions"]["tenant"] for e in body["errors"]] == ["initech"]


async def test_unexpected_exceptions_are_masked_alike(
    sides: tuple[GatewayClient, GatewayClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    for side in sides:
        backend = side.app.state.gateway.tenants["acme"].backend
        monkeypatch.setattr(backend, "search_groups", explode)
    _, body = await _both(
        sides,
        "POST",
        json={"query": '{ tenant(id: "acme") { groups { totalCount } } }'},
        headers=AUTH,
    )
    assert body["errors"][0]["message"] == "Internal error."
