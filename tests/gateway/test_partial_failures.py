"""One tenant failing costs only its own fields; unexpected errors are masked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.conftest import GatewayClient


async def test_merged_groups_keep_other_tenants_when_one_is_down(gateway: GatewayClient) -> None:
    gateway.demo.condeco.faults.error_rate = 1.0
    body = await gateway.post("{ groups(first: 200) { totalCount nodes { tenant { id } } } }")
    assert {n["tenant"]["id"] for n in body["data"]["groups"]["nodes"]} == {"acme", "initech"}
    assert body["data"]["groups"]["totalCount"] == 60
    [error] = body["errors"]
    assert error["path"] == ["groups"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["extensions"]["tenant"] == "globex"
    assert "globex" in error["message"]


async def test_tenants_query_nulls_only_the_failing_tenants_groups(gateway: GatewayClient) -> None:
    gateway.demo.descope.faults.error_rate = 1.0
    body = await gateway.post("{ tenants { id groups(first: 2) { totalCount } } }")
    tenants = body["data"]["tenants"]
    assert [t["id"] for t in tenants] == ["acme", "globex", "initech"]
    assert tenants[0]["groups"] is None
    assert tenants[1]["groups"]["totalCount"] == tenants[2]["groups"]["totalCount"] == 30
    [error] = body["errors"]
    assert error["path"] == ["tenants", 0, "groups"]
    assert error["extensions"]["tenant"] == "acme"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("malformed_next", "UPSTREAM_ERROR"),
        ("wrong_content_type_next", "UPSTREAM_ERROR"),
        ("drop_next", "UPSTREAM_UNAVAILABLE"),
        ("unauthorized_next", "UPSTREAM_ERROR"),
    ],
)
async def test_broken_upstream_answers_become_coded_errors(
    gateway: GatewayClient, fault: str, code: str
) -> None:
    # Three: a read that fails in transit is retried twice (the tenant's default retries).
    getattr(gateway.demo.descope.faults, fault)(3)
    body = await gateway.post('{ tenant(id: "acme") { groups(first: 1) { totalCount } } }')
    assert body["data"] == {"tenant": {"groups": None}}
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert body["errors"][0]["extensions"]["tenant"] == "acme"


async def test_rate_limiting_upstream_is_reported_as_rate_limited(gateway: GatewayClient) -> None:
    gateway.demo.scim.faults.fail_next(5, 429, retry_after=1)
    body = await gateway.post('{ tenant(id: "initech") { groups(first: 1) { totalCount } } }')
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_unexpected_exceptions_are_masked(
    gateway: GatewayClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = gateway.app.state.gateway.tenants["acme"].backend

    async def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals: token=demo-access-key")

    monkeypatch.setattr(backend, "search_groups", explode)
    body = await gateway.post('{ tenant(id: "acme") { groups { totalCount } } }')
    assert body["errors"][0]["message"] == "Internal error."
    assert "extensions" not in body["errors"][0] or "code" not in body["errors"][0]["extensions"]
    assert "demo-access-key" not in str(body)


async def test_members_that_cannot_be_read_fail_at_a_groups_path(
    gateway: GatewayClient,
) -> None:
    """The page prefetches its groups' members in one go; when the details read fails, the
    groups' own resolvers report it at a group's path, and nothing is read twice."""
    await gateway.post('{ tenant(id: "acme") { groups(first: 1) { totalCount } } }')
    gateway.reset_logs()
    gateway.demo.descope.faults.pass_next(1)  # the page
    gateway.demo.descope.faults.fail_next(1, 400)  # the management API read of the members
    body = await gateway.post(
        '{ tenant(id: "acme") { groups(first: 3) { nodes { displayName members { loginId } } } } }'
    )
    assert body["data"] == {"tenant": {"groups": None}}
    # graphql-core reports the first; the others are under the position it nulled.
    [error] = body["errors"]
    assert error["path"] == ["tenant", "groups", "nodes", 0, "members"]
    assert error["extensions"]["tenant"] == "acme"
    assert gateway.upstream("acme") == 2  # the page and one members read, not one per group
