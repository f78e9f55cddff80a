"""A query runs ahead on reads whose last answers were the same, and stands only if they are.

Over the demo emulators, through POST /graphql. Once a page's reads have come back the same
twice running, the next page is made from those answers while its reads are on the wire
(``scim_gateway_speculative_answers_total{outcome="kept"}``); the reads still go out, once
each. When the directory changed behind the gateway's back (another gateway renamed a
group), or a read fails, the query runs again on what came back (``outcome="redone"``):
the answer is the directory's as it is now, and nothing is sent twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from app.config import Limits
from app.emulators import DemoEnvironment, build_demo
from tests.gateway.test_membership_alongside_page import _Gateway, _open
from tests.ops.test_health_and_metrics import _samples, _value

PAGE = """{ tenant(id: "%s") { groups(first: 10) { nodes {
  id displayName members { scimId display groups { displayName } } } } } }"""
RENAME = """mutation($id: ID!, $name: String) {
  updateGroup(input: {id: $id, displayName: $name}) { displayName } }"""
KINDS = ("acme", "globex", "initech")


class _Two:
    """The gateway under test, and another one over the same directories."""

    def __init__(self, demo: DemoEnvironment, tested: _Gateway, other: _Gateway) -> None:
        self.demo = demo
        self.tested = tested
        self.other = other

    async def page(self, tenant: str) -> tuple[dict[str, Any], int]:
        """The tested gateway's page, and how many requests went upstream for it."""
        body = await self.tested.page(tenant, PAGE)
        return body, len(self.tested.watched[tenant].sent)

    async def steady(self, tenant: str) -> tuple[dict[str, Any], int]:
        """Pages until every read of the page has come back the same twice running (the
        first page learns the tenant's size: its whole read goes out from the second on)."""
        for _ in range(4):
            body, sent = await self.page(tenant)
            assert "errors" not in body, body
        return body, sent

    async def ahead(self, outcome: str) -> float:
        response = await self.tested.http.get("/metrics")
        name = "scim_gateway_speculative_answers_total"
        return _value(_samples(response.text), name, outcome=outcome)


async def _two(limits: Limits | None = None) -> AsyncIterator[_Two]:
    demo = build_demo(groups_per_tenant=30, members_per_group=5, users_per_tenant=40, seed=11)
    async with _gateway(demo, limits) as tested, _gateway(demo, None) as other:
        yield _Two(demo, tested, other)


@asynccontextmanager
async def _gateway(demo: DemoEnvironment, limits: Limits | None) -> AsyncIterator[_Gateway]:
    opened = _open(demo, limits=limits)
    try:
        yield await anext(opened)
    finally:
        await opened.aclose()


@pytest.fixture
async def two() -> AsyncIterator[_Two]:
    async for opened in _two():
        yield opened


@pytest.mark.parametrize("tenant", KINDS)
async def test_a_steady_page_is_made_ahead_and_its_reads_still_go_out(
    two: _Two, tenant: str
) -> None:
    before, sent = await two.steady(tenant)
    kept = await two.ahead("kept")
    for turn in (1, 2):
        again, sent_again = await two.page(tenant)
        assert again == before
        assert sent_again == sent  # the directory is asked every time, once per read
        assert await two.ahead("kept") == kept + turn
    assert await two.ahead("redone") == 0


@pytest.mark.parametrize("tenant", KINDS)
async def test_a_change_behind_the_gateways_back_shows_in_the_next_answer(
    two: _Two, tenant: str
) -> None:
    before, sent = await two.steady(tenant)
    group = before["data"]["tenant"]["groups"]["nodes"][0]
    member = group["members"][0]["scimId"]
    renamed = f"{group['displayName']} (renamed elsewhere)"
    variables = {"id": group["id"], "name": renamed}
    response = await two.other.http.post("/graphql", json={"query": RENAME, "variables": variables})
    assert response.status_code == 200 and "errors" not in response.json()

    after, sent_after = await two.page(tenant)
    assert "errors" not in after, after
    nodes = after["data"]["tenant"]["groups"]["nodes"]
    assert nodes[0]["displayName"] == renamed
    names = {
        g["displayName"]
        for n in nodes
        for m in n["members"]
        if m["scimId"] == member
        for g in m["groups"]
    }
    assert renamed in names and group["displayName"] not in names
    assert sent_after == sent  # run again on what came back: nothing sent twice
    kept = await two.ahead("kept")
    assert await two.ahead("redone") == 1

    steady_again, _ = await two.page(tenant)  # the new answer, once: not assumed yet
    assert steady_again == after
    assert await two.ahead("kept") == kept
    assert (await two.page(tenant))[0] == after
    assert await two.ahead("kept") == kept + 1


async def test_one_tenant_changed_runs_the_whole_query_again_and_sends_nothing_twice(
    two: _Two,
) -> None:
    every = """{ tenants { id groups(first: 10) { nodes {
      id displayName members { scimId groups { displayName } } } } } }"""

    async def tenants() -> tuple[list[dict[str, Any]], int]:
        for watched in two.tested.watched.values():
            watched.reset()
        response = await two.tested.http.post("/graphql", json={"query": every})
        body = response.json()
        assert "errors" not in body, body
        return body["data"]["tenants"], sum(len(w.sent) for w in two.tested.watched.values())

    for _ in range(4):
        before, sent = await tenants()
    kept = await two.ahead("kept")
    assert await tenants() == (before, sent)
    assert await two.ahead("kept") == kept + 1

    group = next(t for t in before if t["id"] == "initech")["groups"]["nodes"][0]
    renamed = f"{group['displayName']} (renamed elsewhere)"
    variables = {"id": group["id"], "name": renamed}
    response = await two.other.http.post("/graphql", json={"query": RENAME, "variables": variables})
    assert response.status_code == 200 and "errors" not in response.json()

    after, sent_after = await tenants()
    assert sent_after == sent
    assert await two.ahead("redone") == 1
    for was, now in zip(before, after, strict=True):
        if was["id"] == "initech":
            assert now["groups"]["nodes"][0]["displayName"] == renamed
        else:
            assert now == was


@pytest.mark.parametrize("tenant", KINDS)
async def test_a_read_that_fails_is_reported_not_answered_from_the_last_time(
    two: _Two, tenant: str
) -> None:
    before, _ = await two.steady(tenant)
    faults = two.demo.emulator(tenant).faults
    faults.error_rate, faults.error_status = 1.0, 500
    try:
        failed, _ = await two.page(tenant)
    finally:
        faults.error_rate = 0.0
    assert failed["data"] == {"tenant": {"groups": None}}  # not the last page
    assert {e["extensions"]["code"] for e in failed["errors"]} == {"UPSTREAM_ERROR"}
    assert await two.ahead("redone") == 1

    again, _ = await two.page(tenant)
    assert again == before


async def test_with_speculate_off_nothing_is_made_ahead_and_the_answers_are_the_same() -> None:
    async for two in _two(Limits(speculate=False)):
        before, _ = await two.steady("initech")
        for _ in range(2):
            assert (await two.page("initech"))[0] == before
        assert (await two.ahead("kept"), await two.ahead("redone")) == (0, 0)
