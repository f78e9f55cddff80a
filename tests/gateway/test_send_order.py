"""A request that reads several tenants sends the slowest tenant's read first.

The answer of ``tenants { groups { ... members { groups } } }`` waits for its slowest tenant,
and each send costs the gateway CPU before the next can leave; so once the gateway has timed
the tenants' whole reads, a much slower tenant's read leaves before the others' (app/send_order).
Untimed tenants, and tenants alike in speed, keep the tenants' order; nobody waits for a read
that fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.config import Settings
from app.demo import demo_settings, demo_transports
from app.emulators import build_demo
from app.main import create_app
from app.send_order import AnswerTimes, SendOrder

QUERY = """{ tenants { id groups(first: 5) { nodes { displayName
  members { display groups { displayName } } } } } }"""
KINDS = ("acme", "globex", "initech")


class Sent(httpx.AsyncBaseTransport):
    """A tenant's transport that notes each request in a log shared by all tenants, in the
    order they are handed over, and answers after ``delay`` seconds (a remote backend)."""

    def __init__(self, tenant: str, inner: httpx.AsyncBaseTransport, log: list[Any]) -> None:
        self.tenant = tenant
        self.inner = inner
        self.log = log
        self.delay = 0.01
        self.fail = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append((self.tenant, request.method, request.url.path))
        if self.fail:
            raise httpx.ConnectError("refused by the test", request=request)
        await asyncio.sleep(self.delay)
        return await self.inner.handle_async_request(request)


class _Gateway:
    def __init__(self, http: httpx.AsyncClient, sent: dict[str, Sent], log: list[Any]) -> None:
        self.http = http
        self.sent = sent
        self.log = log

    async def query(self) -> dict[str, Any]:
        self.log.clear()
        response = await self.http.post("/graphql", json={"query": QUERY})
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def gateway() -> AsyncIterator[_Gateway]:
    demo = build_demo(groups_per_tenant=20, members_per_group=4, users_per_tenant=30, seed=7)
    base, env = demo_settings()
    log: list[Any] = []
    sent = {t: Sent(t, inner, log) for t, inner in demo_transports(demo).items()}
    app = create_app(Settings(tenants=base.tenants), env=env, transports=dict(sent))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            yield _Gateway(http, sent, log)


def _tenants_in_order(log: list[Any]) -> list[str]:
    return list(dict.fromkeys(tenant for tenant, _, _ in log))


async def test_untimed_tenants_keep_their_order(gateway: _Gateway) -> None:
    gateway.sent["initech"].delay = 0.2
    body = await gateway.query()
    assert "errors" not in body
    assert _tenants_in_order(gateway.log) == list(KINDS)


async def test_a_much_slower_tenant_is_read_first_once_timed(gateway: _Gateway) -> None:
    gateway.sent["initech"].delay = 0.2
    first = await gateway.query()
    for _ in range(2):  # sizes learnt, then every tenant's whole read timed
        await gateway.query()
    body = await gateway.query()
    assert body == first  # the same answer, whatever the order
    assert gateway.log[0][0] == "initech"
    assert _tenants_in_order(gateway.log) == ["initech", "acme", "globex"]
    # Then another tenant turns slow: its read goes first once the gateway has seen it.
    gateway.sent["initech"].delay = 0.01
    gateway.sent["globex"].delay = 0.3
    for _ in range(6):
        await gateway.query()
    await gateway.query()
    assert gateway.log[0][0] == "globex"


async def test_tenants_alike_in_speed_keep_their_order(gateway: _Gateway) -> None:
    for sent in gateway.sent.values():
        sent.delay = 0.15  # far more than the emulators' own work, in process
    for _ in range(4):
        await gateway.query()
    assert _tenants_in_order(gateway.log) == list(KINDS)


async def test_nobody_waits_for_a_slow_tenant_whose_read_fails(gateway: _Gateway) -> None:
    gateway.sent["initech"].delay = 0.2
    for _ in range(3):
        await gateway.query()
    gateway.sent["initech"].fail = True
    body = await asyncio.wait_for(gateway.query(), 5)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UPSTREAM_UNAVAILABLE"]
    tenants = {t["id"]: t for t in body["data"]["tenants"]}
    assert tenants["acme"]["groups"]["nodes"] and tenants["globex"]["groups"]["nodes"]
    assert tenants["initech"]["groups"] is None


async def test_a_read_waits_only_for_much_slower_reads_still_to_leave() -> None:
    order = SendOrder()
    order.announce("slow", 0.4)
    order.announce("alike", 0.03)
    order.announce("untimed", 0.0)
    assert len(order.slower_than("fast", 0.02)) == 1  # "slow" only
    assert order.slower_than("slow", 0.4) == []
    assert order.slower_than("untimed", 0.0) == []  # its own speed unknown: never held
    waiter = asyncio.ensure_future(order.after_slower("fast", 0.02))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    other = asyncio.ensure_future(order.after_slower("alike", 0.03))
    await asyncio.sleep(0)
    waiter.cancel()  # a waiter that gives up does not release the others
    await asyncio.sleep(0.01)
    assert not other.done()
    order.left("slow")
    await asyncio.wait_for(other, 1)
    assert order.slower_than("fast", 0.02) == []


def test_answer_times_are_smoothed() -> None:
    times = AnswerTimes()
    times.observe(0.1)
    assert times.seconds == pytest.approx(0.1)
    times.observe(0.2)
    assert 0.1 < times.seconds < 0.2
