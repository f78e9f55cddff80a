"""Upstream faults: deadlines, retries of reads only, Retry-After, the breaker, caps per tenant.

Driven through the emulators' fault knobs, with each test's knobs set small so it runs fast.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.adapters.http import Upstream
from app.emulators import DemoEnvironment
from app.errors import UpstreamUnavailable
from app.resilience import CircuitBreaker, Resilience, RetryPolicy, operation_scope
from app.resilience.retry import retry_after_seconds
from tests.clock import Clock
from tests.hardening.conftest import TENANTS, GatewayClient, open_hardened

ONE_GROUP = '{ tenant(id: "%s") { groups(first: 1) { totalCount nodes { id } } } }'
MERGED = "{ groups(first: 100) { totalCount nodes { displayName tenant { id } } } }"
CREATE = """mutation($i: CreateGroupInput!) { createGroup(input: $i) { id displayName } }"""
UPDATE = """mutation($i: UpdateGroupInput!) { updateGroup(input: $i) { id } }"""
REPLACE = """mutation($i: ReplaceGroupInput!) { replaceGroup(input: $i) { id } }"""
DELETE = """mutation($i: DeleteGroupInput!) { deleteGroup(input: $i) { deletedGroupId } }"""


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


@pytest.fixture
async def gateway(demo: DemoEnvironment) -> AsyncIterator[GatewayClient]:
    """Defaults everywhere, but quick backoffs so retries cost little time."""
    async for client in open_hardened(demo, every_tenant={"retry_backoff_seconds": 0.01}):
        yield client


@pytest.fixture
async def deadline_gateway(demo: DemoEnvironment) -> AsyncIterator[GatewayClient]:
    async for client in open_hardened(demo, limits={"request_deadline_seconds": 0.5}):
        yield client


@pytest.fixture
async def breaker_gateway(demo: DemoEnvironment) -> AsyncIterator[GatewayClient]:
    knobs = {"retries": 0, "breaker_failures": 3, "breaker_cooldown_seconds": 30}
    async for client in open_hardened(demo, tenants={"acme": knobs}):
        breaker = client.app.state.gateway.tenants["acme"].backend._upstream.resilience.breaker
        breaker._clock = client.clock = Clock()  # type: ignore[attr-defined]
        yield client


def cool_down(gateway: GatewayClient) -> None:
    gateway.clock.now += 30  # type: ignore[attr-defined]


# -- the deadline ------------------------------------------------------------------------------


async def test_a_tenant_slower_than_the_deadline_answers_in_time_with_upstream_timeout(
    deadline_gateway: GatewayClient,
) -> None:
    deadline_gateway.demo.descope.faults.latency = 5.0
    started = time.perf_counter()
    body = await deadline_gateway.post(MERGED)
    elapsed = time.perf_counter() - started
    # Only the 0.5 s deadline can time this out (the emulator answers in 5 s, within the
    # tenant's 10 s timeout); the margin is for a loaded CI machine, not the measure.
    assert elapsed < 0.5 + 3.0
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_TIMEOUT"
    assert error["extensions"]["tenant"] == "acme"
    # The other tenants' groups are all there.
    assert {n["tenant"]["id"] for n in body["data"]["groups"]["nodes"]} == {"globex", "initech"}


async def test_the_whole_request_has_a_deadline_even_when_the_slow_part_is_not_a_request(
    deadline_gateway: GatewayClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = deadline_gateway.app.state.gateway.tenants["acme"].backend

    async def hang(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(30)

    monkeypatch.setattr(backend, "search_groups", hang)
    started = time.perf_counter()
    body = await deadline_gateway.post(MERGED)
    assert time.perf_counter() - started < 0.5 + 4.5  # the hang is 30 s
    assert body["data"] is None
    assert codes(body) == ["UPSTREAM_TIMEOUT"]


# -- retries: reads only -----------------------------------------------------------------------


async def test_a_rate_limited_read_waits_for_retry_after_then_returns_data(
    gateway: GatewayClient,
) -> None:
    gateway.demo.descope.faults.fail_next(1, 429, retry_after=0.2)
    started = time.perf_counter()
    body = await gateway.post(ONE_GROUP % "acme")
    assert time.perf_counter() - started >= 0.2
    assert "errors" not in body
    assert body["data"]["tenant"]["groups"]["totalCount"] == 30
    assert gateway.demo.descope.log.counts["GET /scim/v2/Groups"] == 2


async def test_a_retry_after_longer_than_the_cap_fails_at_once(gateway: GatewayClient) -> None:
    gateway.demo.descope.faults.fail_next(1, 429, retry_after=60)
    started = time.perf_counter()
    body = await gateway.post(ONE_GROUP % "acme")
    assert time.perf_counter() - started < 10  # not the 60 s asked for
    assert codes(body) == ["RATE_LIMITED"]
    assert gateway.upstream("acme") == 1


@pytest.mark.parametrize("fault", ["fail_next_503", "drop_next"])
async def test_a_read_that_fails_in_transit_once_is_retried_transparently(
    gateway: GatewayClient, fault: str
) -> None:
    faults = gateway.demo.descope.faults
    faults.fail_next(1, 503) if fault == "fail_next_503" else faults.drop_next(1)
    body = await gateway.post(ONE_GROUP % "acme")
    assert "errors" not in body
    assert gateway.upstream("acme") == 2


async def test_reads_give_up_after_their_retries(gateway: GatewayClient) -> None:
    gateway.demo.descope.faults.fail_next(10, 503)
    body = await gateway.post(ONE_GROUP % "acme")
    assert codes(body) == ["UPSTREAM_UNAVAILABLE"]
    assert gateway.upstream("acme") == 3  # the first attempt and the default 2 retries


async def _warm(gateway: GatewayClient, tenant: str) -> str:
    """Read once (Condeco's token, the SCIM server's capabilities); return a group's id."""
    body = await gateway.post(ONE_GROUP % tenant)
    group_id: str = body["data"]["tenant"]["groups"]["nodes"][0]["id"]
    gateway.reset_logs()
    return group_id


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize("fault", ["fail_next_503", "drop_next", "fail_next_429"])
async def test_a_create_that_fails_is_sent_exactly_once(
    gateway: GatewayClient, tenant: str, fault: str
) -> None:
    await _warm(gateway, tenant)
    faults = gateway.demo.emulator(tenant).faults
    if fault == "drop_next":
        faults.drop_next(1)
    else:
        faults.fail_next(1, int(fault[-3:]), retry_after=0 if fault.endswith("429") else None)
    body = await gateway.post(CREATE, {"i": {"tenantId": tenant, "displayName": "Once Only"}})
    assert body["data"] is None
    assert codes(body) == [{"fail_next_429": "RATE_LIMITED"}.get(fault, "UPSTREAM_UNAVAILABLE")]
    log = gateway.demo.emulator(tenant).log
    assert log.total == 1
    assert next(iter(log.counts)).startswith("POST ")


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (UPDATE, {"displayName": "Renamed"}),
        (REPLACE, {"displayName": "Replaced", "memberScimIds": []}),
        (DELETE, {}),
    ],
)
@pytest.mark.parametrize("fault", ["fail_next_503", "drop_next"])
async def test_put_patch_and_delete_are_not_sent_again_once_they_may_have_arrived(
    gateway: GatewayClient, query: str, variables: dict[str, Any], fault: str
) -> None:
    group_id = await _warm(gateway, "acme")
    faults = gateway.demo.descope.faults
    faults.fail_next(1, 503) if fault == "fail_next_503" else faults.drop_next(1)
    body = await gateway.post(query, {"i": {"id": group_id, **variables}})
    assert codes(body) == ["UPSTREAM_UNAVAILABLE"]
    assert gateway.upstream("acme") == 1


def _upstream(handler: Any, **resilience: Any) -> Upstream:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://x.test")
    return Upstream("acme", client, Resilience(**resilience))


async def test_a_create_whose_connection_was_refused_is_sent_again() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(201, json={"id": "g1", "displayName": "x"})

    upstream = _upstream(handler, retry=RetryPolicy(retries=2, backoff=0))
    assert await upstream.send("POST", "Groups", json={"displayName": "x"}) == {
        "id": "g1",
        "displayName": "x",
    }
    assert calls == ["POST", "POST"]


async def test_a_create_whose_answer_was_lost_is_not_sent_again() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadError("connection reset")

    upstream = _upstream(handler, retry=RetryPolicy(retries=2, backoff=0))
    with pytest.raises(UpstreamUnavailable):
        await upstream.send("POST", "Groups", json={"displayName": "x"})
    assert calls == ["POST"]


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    later = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(later, now=now) == 30
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_is_jittered_and_bounded() -> None:
    policy = RetryPolicy(retries=5, backoff=0.1)
    delays = [policy.delay(n) for n in (1, 2, 3, 10) for _ in range(50)]
    assert all(d is not None and 0 <= d <= 2.0 for d in delays)
    assert len(set(delays)) > 50


# -- the circuit breaker -----------------------------------------------------------------------


async def _fail_three_times(gateway: GatewayClient) -> None:
    gateway.demo.descope.faults.error_rate = 1.0
    for _ in range(3):
        assert codes(await gateway.post(ONE_GROUP % "acme")) == ["UPSTREAM_UNAVAILABLE"]
    assert gateway.upstream("acme") == 3


async def test_the_breaker_opens_after_consecutive_failures_and_stops_calling_the_tenant(
    breaker_gateway: GatewayClient,
) -> None:
    await _fail_three_times(breaker_gateway)
    breaker_gateway.clock.now += 29  # type: ignore[attr-defined]
    body = await breaker_gateway.post(ONE_GROUP % "acme")
    assert codes(body) == ["UPSTREAM_UNAVAILABLE"]
    assert "failing" in body["errors"][0]["message"]
    assert breaker_gateway.upstream("acme") == 3  # failed fast: no request went out


async def test_after_the_cool_down_one_probe_closes_the_breaker(
    breaker_gateway: GatewayClient,
) -> None:
    await _fail_three_times(breaker_gateway)
    breaker_gateway.demo.descope.faults.reset()
    cool_down(breaker_gateway)
    body = await breaker_gateway.post(ONE_GROUP % "acme")
    assert "errors" not in body
    assert breaker_gateway.upstream("acme") == 4
    assert "errors" not in await breaker_gateway.post(ONE_GROUP % "acme")
    assert breaker_gateway.upstream("acme") == 5


async def test_a_failed_probe_opens_the_breaker_for_another_cool_down(
    breaker_gateway: GatewayClient,
) -> None:
    await _fail_three_times(breaker_gateway)
    cool_down(breaker_gateway)
    assert codes(await breaker_gateway.post(ONE_GROUP % "acme")) == ["UPSTREAM_UNAVAILABLE"]
    assert breaker_gateway.upstream("acme") == 4  # the probe
    assert codes(await breaker_gateway.post(ONE_GROUP % "acme")) == ["UPSTREAM_UNAVAILABLE"]
    assert breaker_gateway.upstream("acme") == 4  # open again: no request


def test_a_half_open_breaker_lets_exactly_one_probe_through() -> None:
    now = [0.0]
    breaker = CircuitBreaker("acme", failures=1, cooldown=10, clock=lambda: now[0])
    breaker.failed()
    with pytest.raises(UpstreamUnavailable):
        breaker.before()
    now[0] = 10.0
    assert breaker.current_state.value == "half-open"
    assert breaker.before() is True
    with pytest.raises(UpstreamUnavailable):
        breaker.before()  # a second caller while the probe is out
    breaker.succeeded()
    assert breaker.before() is False


async def test_other_tenants_answer_while_one_tenants_breaker_is_open(
    breaker_gateway: GatewayClient,
) -> None:
    await _fail_three_times(breaker_gateway)
    body = await breaker_gateway.post(MERGED)
    assert {n["tenant"]["id"] for n in body["data"]["groups"]["nodes"]} == {"globex", "initech"}
    assert body["data"]["groups"]["totalCount"] == 60
    [error] = body["errors"]
    assert error["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "tenant": "acme"}
    assert breaker_gateway.upstream("acme") == 3


# -- caps: concurrent requests per tenant, requests per operation ------------------------------


async def test_concurrent_upstream_requests_per_tenant_are_capped() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return httpx.Response(200, json={"ok": True})

    upstream = _upstream(handler, concurrency=asyncio.Semaphore(3))
    answers = await asyncio.gather(*(upstream.send("GET", "Groups") for _ in range(12)))
    assert answers == [{"ok": True}] * 12
    assert peak == 3


async def test_an_operation_that_needs_too_many_upstream_requests_is_refused_clearly(
    demo: DemoEnvironment,
) -> None:
    async for gateway in open_hardened(demo, limits={"max_upstream_requests": 2}):
        body = await gateway.post(MERGED)
        assert "BAD_USER_INPUT" in codes(body)
        assert any("upstream requests" in e["message"] for e in body["errors"])
        assert sum(gateway.upstream(t) for t in TENANTS) <= 2


async def test_the_request_budget_is_per_operation_not_per_process() -> None:
    upstream = _upstream(lambda request: httpx.Response(200, json={}))
    for _ in range(3):
        with operation_scope(None, 2):
            await upstream.send("GET", "a")
            await upstream.send("GET", "b")
