"""RequestLog and Faults, through the Descope emulator's middleware."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from app.emulators import DescopeEmulator, RequestLog


def test_request_log_counts_totals_and_resets() -> None:
    log = RequestLog()
    log.record("GET /a", "x=1")
    log.record("GET /a")
    log.record("POST /b")
    assert log.counts == {"GET /a": 2, "POST /b": 1}
    assert log.total == 3
    assert log.queries[0] == ("GET /a", "x=1")
    log.reset()
    assert log.total == 0
    assert log.queries == []


async def test_unknown_paths_are_counted_under_their_raw_path(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    assert (await descope_client.get("/nowhere")).status_code == 404
    assert descope.log.counts == {"GET /nowhere": 1}


async def test_latency_delays_every_request(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.latency = 0.05
    started = time.perf_counter()
    await descope_client.get("/scim/v2/Groups")
    assert time.perf_counter() - started >= 0.05


async def test_fail_next_answers_the_status_with_retry_after_then_recovers(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.fail_next(2, 429, retry_after=3)
    first = await descope_client.get("/scim/v2/Groups")
    second = await descope_client.get("/scim/v2/Groups")
    third = await descope_client.get("/scim/v2/Groups")
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["retry-after"] == "3"
    assert first.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert descope.log.counts["GET /scim/v2/Groups"] == 3  # refused requests count too


async def test_fail_next_without_retry_after_sends_no_header(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.fail_next(1, 500)
    response = await descope_client.get("/scim/v2/Groups")
    assert response.status_code == 500
    assert "retry-after" not in response.headers


async def test_drop_next_surfaces_as_a_transport_error(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.drop_next()
    with pytest.raises(httpx.TransportError):
        await descope_client.get("/scim/v2/Groups")
    assert (await descope_client.get("/scim/v2/Groups")).status_code == 200


async def test_malformed_next_answers_200_with_invalid_json(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.malformed_next()
    response = await descope_client.get("/scim/v2/Groups")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_wrong_content_type_next_answers_an_html_page(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.wrong_content_type_next()
    response = await descope_client.get("/scim/v2/Groups")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_unauthorized_next_answers_401_with_an_empty_body(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.unauthorized_next()
    response = await descope_client.get("/scim/v2/Groups")
    assert response.status_code == 401
    assert response.content == b""


async def test_one_shot_faults_are_consumed_in_the_order_they_were_queued(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.unauthorized_next()
    descope.faults.fail_next(1, 502)
    statuses = [(await descope_client.get("/scim/v2/Groups")).status_code for _ in range(3)]
    assert statuses == [401, 502, 200]


async def test_error_rate_fails_a_seeded_share_of_requests(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.error_rate = 0.5
    descope.faults.error_status = 504
    first = [(await descope_client.get("/scim/v2/Groups")).status_code for _ in range(40)]
    descope.faults.reset()
    descope.faults.error_rate = 0.5
    descope.faults.error_status = 504
    second = [(await descope_client.get("/scim/v2/Groups")).status_code for _ in range(40)]
    assert set(first) == {200, 504}
    assert first == second  # the same seed fails the same requests


async def test_an_error_rate_of_one_fails_everything_with_503_by_default(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.error_rate = 1.0
    assert (await descope_client.get("/scim/v2/Groups")).status_code == 503


async def test_reset_clears_every_fault(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    descope.faults.latency = 1.0
    descope.faults.error_rate = 1.0
    descope.faults.drop_next(3)
    descope.faults.reset()
    assert descope.faults.pending == 0
    assert (await descope_client.get("/scim/v2/Groups")).status_code == 200
