"""Request ids: returned as X-Request-ID, sent upstream, on every log record; logs hold no key."""

from __future__ import annotations

import json
import logging

import pytest

from app.config import ClientConfig
from app.observability.logging import JsonFormatter, RequestIdFilter
from tests.ops.conftest import in_process

KEY = "reader-secret-key-should-never-be-logged"
CLIENTS = [ClientConfig(name="app", key_env="APP_KEY", tenants=["*"])]
QUERY = {"query": "{ tenants { id groups(first: 2) { nodes { displayName } } } }"}


async def test_a_sane_incoming_request_id_is_kept_returned_and_sent_upstream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="scim_gateway")
    async with in_process(clients=CLIENTS, extra_env={"APP_KEY": KEY}) as gw:
        response = await gw.http.post(
            "/graphql",
            json=QUERY,
            headers={"Authorization": f"Bearer {KEY}", "X-Request-ID": "trace-abc-123"},
        )
        upstream = [h.get("x-request-id") for t in gw.transports.values() for h in t.headers]

    assert response.status_code == 200 and "errors" not in response.json()
    assert response.headers["x-request-id"] == "trace-abc-123"
    assert upstream and set(upstream) == {"trace-abc-123"}
    access = [r for r in caplog.records if r.name == "scim_gateway.access"]
    assert [(r.method, r.path, r.status) for r in access] == [("POST", "/graphql", 200)]  # type: ignore[attr-defined]
    assert access[0].request_id == "trace-abc-123"  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(access[0]))
    assert line["request_id"] == "trace-abc-123" and line["status"] == 200
    assert line["level"] == "info" and line["duration_ms"] >= 0
    assert all(KEY not in JsonFormatter().format(r) for r in caplog.records)
    assert KEY not in caplog.text


@pytest.mark.parametrize("incoming", [None, "short", "has spaces in it", "x" * 200, 'q"uote"12'])
async def test_a_missing_or_insane_request_id_is_replaced_by_a_fresh_one(
    incoming: str | None,
) -> None:
    headers = {"X-Request-ID": incoming} if incoming is not None else {}
    async with in_process() as gw:
        first = await gw.http.get("/healthz", headers=headers)
        second = await gw.http.get("/healthz", headers=headers)

    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert ids[0] != ids[1] and all(len(i) == 32 and i.isalnum() for i in ids)


def test_json_log_lines_redact_credential_like_extras_and_carry_the_request_id() -> None:
    record = logging.LogRecord("scim_gateway", logging.WARNING, __file__, 1, "hi %s", ("x",), None)
    record.tenant = "acme"
    record.access_token = "tok-123"
    record.client_secret = "sec-456"
    RequestIdFilter().filter(record)

    line = json.loads(JsonFormatter().format(record))

    assert line["message"] == "hi x" and line["tenant"] == "acme" and line["level"] == "warning"
    assert line["access_token"] == "[redacted]" and line["client_secret"] == "[redacted]"
    assert "request_id" in line
