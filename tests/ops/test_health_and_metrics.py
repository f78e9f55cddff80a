"""/healthz, /readyz and /metrics (Prometheus text, parsed back with prometheus_client)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from app.auth import Authenticator
from app.gateway import Gateway, Tenant
from app.health import breaker_states, readiness
from app.models import BackendKind
from app.observability.metrics import upstream_route
from app.resilience.breaker import CircuitBreaker
from tests.ops.conftest import in_process

QUERY = """query Members { tenants { id groups(first: 5) {
  nodes { displayName members { display groups { displayName } } } } } }"""


def _samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def _value(samples: Iterable[Sample], name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def test_healthz_and_readyz_answer_ok_while_the_gateway_is_open() -> None:
    async with in_process() as gw:
        health = await gw.http.get("/healthz")
        ready = await gw.http.get("/readyz")

    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200
    closed = {"acme": "closed", "globex": "closed", "initech": "closed"}
    assert ready.json() == {"status": "ready", "tenants": 3, "breakers": closed}


async def test_readyz_and_metrics_report_a_tenants_open_circuit_breaker() -> None:
    async with in_process() as gw:
        breaker = gw.app.state.gateway.tenants["globex"].breaker
        for _ in range(breaker.failures):
            breaker.failed()
        ready = await gw.http.get("/readyz")
        samples = _samples((await gw.http.get("/metrics")).text)

    assert ready.status_code == 503
    assert ready.json()["reasons"] == ["circuit breaker open for tenant 'globex'"]
    state = "scim_gateway_circuit_breaker_state"
    assert _value(samples, state, tenant="globex", state="open") == 1
    assert _value(samples, state, tenant="globex", state="closed") == 0
    assert _value(samples, state, tenant="acme", state="closed") == 1


def _gateway(breakers: dict[str, CircuitBreaker]) -> Gateway:
    """A gateway whose tenants carry these breakers (no backend is called by readiness)."""
    tenants = {
        tid: Tenant(tid, tid, BackendKind.SCIM, None, breaker)  # type: ignore[arg-type]
        for tid, breaker in breakers.items()
    }
    return Gateway(tenants, Authenticator(None))


def test_an_open_breaker_whose_cool_down_is_over_reads_half_open_so_readyz_recovers() -> None:
    now = [100.0]
    breaker = CircuitBreaker("acme", failures=1, cooldown=5, clock=lambda: now[0])
    breaker.failed()

    gateway = _gateway({"acme": breaker})

    assert breaker_states(gateway) == {"acme": "open"}
    now[0] += 5
    assert breaker_states(gateway) == {"acme": "half_open"}
    assert readiness(gateway)[0]


def test_readyz_is_not_ready_without_a_gateway_or_with_an_open_breaker() -> None:
    opened = CircuitBreaker("b", failures=1, cooldown=30)
    opened.failed()
    gateway = _gateway({"a": CircuitBreaker("a", failures=1, cooldown=30), "b": opened})

    not_open = {"status": "not ready", "reasons": ["the gateway is not open"]}
    assert readiness(None) == (False, not_open)
    assert breaker_states(gateway) == {"a": "closed", "b": "open"}
    ready, body = readiness(gateway)
    assert not ready and body["reasons"] == ["circuit breaker open for tenant 'b'"]


async def test_metrics_count_operations_upstream_requests_and_batch_sizes() -> None:
    async with in_process() as gw:
        answer = await gw.graphql({"query": QUERY})
        assert "errors" not in answer
        bad = await gw.graphql({"query": "query Broken { nope }"})
        assert bad["errors"]
        # One member's groups, outside a page: on a generic server, a POST Groups/.search.
        page = await gw.graphql(
            {
                "query": '{ tenant(id: "initech") { groups(first: 1) { '
                "nodes { members { scimId } } } } }"
            }
        )
        member = page["data"]["tenant"]["groups"]["nodes"][0]["members"][0]["scimId"]
        query = '{ tenant(id: "initech") { member(scimId: "%s") { groups { scimId } } } }'
        assert "errors" not in await gw.graphql({"query": query % member})
        response = await gw.http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    requests = "scim_gateway_graphql_requests_total"
    assert _value(samples, requests, operation="Members", type="query", outcome="ok") == 1
    assert _value(samples, requests, operation="Broken", outcome="error") == 1
    upstream = "scim_gateway_upstream_requests_total"
    for tenant, backend in (("acme", "descope"), ("globex", "condeco"), ("initech", "scim")):
        assert _value(samples, upstream, tenant=tenant, backend=backend, status="200") >= 1
    # Condeco's token, scim's search, with ids folded out of routes.
    assert _value(samples, upstream, tenant="globex", route="api/V1/token", method="POST") == 1
    assert _value(samples, upstream, tenant="initech", route="Groups/.search") >= 1
    routes = {s.labels["route"] for s in samples if s.name == upstream}
    assert all("{id}" in r or len(r) < 40 for r in routes), routes
    latency = "scim_gateway_upstream_request_duration_seconds_count"
    assert _value(samples, latency, tenant="acme") == _value(samples, upstream, tenant="acme")
    batches = "scim_gateway_dataloader_batch_size_count"
    assert _value(samples, batches, loader="member_groups") >= 3
    assert _value(samples, "scim_gateway_dataloader_batch_size_sum", loader="member_groups") > 3


async def test_two_apps_in_one_process_keep_their_own_counts() -> None:
    async with in_process() as first, in_process() as second:
        await first.graphql({"query": "query One { tenants { id } }"})
        text = (await second.http.get("/metrics")).text

    assert _value(_samples(text), "scim_gateway_graphql_requests_total", operation="One") == 0


@pytest.mark.parametrize(
    ("url", "route"),
    [
        ("Groups/3562efe92715418d88ee3c6e58b08f1f", "Groups/{id}"),
        ("scim/v2/Groups/HR", "scim/v2/Groups/{id}"),  # any segment after a collection
        ("v2/Groups/.search", "v2/Groups/.search"),
        ("scim/api/V1/groups?filter=members%20eq%20%22249%22", "scim/api/V1/groups"),
        ("https://descope.example/scim/v2/Users/u1", "scim/v2/Users/{id}"),
        ("v1/mgmt/group/member/all", "v1/mgmt/group/member/all"),
        ("tenants/249/groups", "tenants/{id}/groups"),  # digits only
        ("tenants/acme-2024-eu-west/groups", "tenants/{id}/groups"),  # 12+ with a digit
        ("tenants/acme-eu-west-x/groups", "tenants/acme-eu-west-x/groups"),  # no digit
        ("tenants/short1/groups", "tenants/short1/groups"),  # under 12
        ("", "/"),
    ],
)
def test_upstream_routes_are_low_cardinality(url: str, route: str) -> None:
    assert upstream_route(url) == route
    assert upstream_route(url) == route  # memoised: the same again
