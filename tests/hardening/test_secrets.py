"""Credentials never appear in a response, an error or a log line.

A batch of succeeding and failing operations (every kind of upstream fault, refused keys,
forbidden writes, deadlines) runs with every logger captured at DEBUG; then every response
(headers and body) and every log record (message, arguments, formatted traceback) is searched
for each secret: the tenants' access, management and client credentials, the Condeco access
token the gateway obtained, and the clients' API keys.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from app.config import ClientConfig
from app.emulators import DemoEnvironment
from app.emulators import demo as seeds
from tests.hardening.conftest import TENANTS, GatewayClient, open_hardened

READER = "reader-key-5f0c2b7e9d1a"
ADMIN = "admin-key-8a3e6d4c2b90"
CLIENTS = [
    ClientConfig(name="reader", key_env="K_READER", role="reader", tenants=["acme"]),
    ClientConfig(name="admin", key_env="K_ADMIN", role="admin", tenants=["*"]),
]
KEYS = {"K_READER": READER, "K_ADMIN": ADMIN}
TENANT_SECRETS = [
    seeds.DESCOPE_ACCESS_KEY,
    seeds.DESCOPE_MANAGEMENT_KEY,
    seeds.CONDECO_CLIENT_ID,
    seeds.CONDECO_CLIENT_SECRET,
    seeds.SCIM_TOKEN,
]

DEEP = """query($t: ID!) { tenant(id: $t) { groups(first: 5) { nodes { id displayName
  members { display loginId groups { displayName } } } } } }"""
MERGED = "{ groups(first: 20) { totalCount nodes { displayName } } }"
CREATE = "mutation($i: CreateGroupInput!) { createGroup(input: $i) { id displayName } }"
UPDATE = "mutation($i: UpdateGroupInput!) { updateGroup(input: $i) { id } }"


FAULTS: list[tuple[str, tuple[object, ...]]] = [
    ("fail_next", (3, 500)),
    ("fail_next", (3, 403)),
    ("fail_next", (1, 400)),
    ("fail_next", (3, 429, 0)),
    ("unauthorized_next", (3,)),
    ("malformed_next", (3,)),
    ("wrong_content_type_next", (3,)),
    ("drop_next", (3,)),
]


@pytest.fixture
async def gateway(demo: DemoEnvironment) -> AsyncIterator[GatewayClient]:
    async for client in open_hardened(
        demo,
        clients=CLIENTS,
        extra_env=KEYS,
        limits={"request_deadline_seconds": 0.5},
        every_tenant={"retry_backoff_seconds": 0.01, "breaker_failures": 1000},
    ):
        yield client


async def test_no_credential_appears_in_any_response_or_log_line(
    gateway: GatewayClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses: list[httpx.Response] = []

    async def send(
        query: str, variables: dict[str, object] | None = None, key: str = ADMIN
    ) -> None:
        response = await gateway.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {key}"},
        )
        responses.append(response)

    # Succeeding reads and writes on every backend (tokens, management key, access keys).
    for tenant in TENANTS:
        await send(DEEP, {"t": tenant})
        await send(CREATE, {"i": {"tenantId": tenant, "displayName": f"Secretless {tenant}"}})
    await send(MERGED)

    # Refused callers: no key, a wrong key, a key one character off, a reader writing.
    await send(MERGED, key="")
    await send(MERGED, key=ADMIN + "x")
    await send(MERGED, key=READER[:-1])
    await send(CREATE, {"i": {"tenantId": "acme", "displayName": "No"}}, key=READER)
    await send(UPDATE, {"i": {"id": "forged", "displayName": "No"}})

    # Every upstream fault on every backend, for reads and writes.
    for tenant in TENANTS:
        faults = gateway.demo.emulator(tenant).faults
        for name, args in FAULTS:
            for query, variables in (
                (DEEP, {"t": tenant}),
                (CREATE, {"i": {"tenantId": tenant, "displayName": "Faulty"}}),
            ):
                faults.reset()
                getattr(faults, name)(*args)
                await send(query, variables)
        faults.reset()
        faults.latency = 2.0  # past the deadline
        await send(DEEP, {"t": tenant})
        faults.reset()
        faults.error_rate = 1.0
        for _ in range(3):
            await send(DEEP, {"t": tenant})
        faults.reset()

    condeco = gateway.app.state.gateway.tenants["globex"].backend
    token = condeco._access_token
    assert token, "the Condeco tenant never obtained a token"
    secrets = [*TENANT_SECRETS, READER, ADMIN, token]

    assert len(responses) > 60
    assert {r.status_code for r in responses} == {200}
    codes = {e["extensions"]["code"] for r in responses for e in r.json().get("errors") or []}
    assert {"UNAUTHENTICATED", "FORBIDDEN", "UPSTREAM_TIMEOUT", "UPSTREAM_UNAVAILABLE"} <= codes
    assert {"UPSTREAM_ERROR", "RATE_LIMITED", "BAD_USER_INPUT"} <= codes

    texts = [f"{r.headers!r}\n{r.text}" for r in responses]
    texts.append(caplog.text)
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        texts.append(repr({k: v for k, v in vars(record).items() if k not in ("msg", "args")}))
    assert caplog.records, "nothing was logged: the scan would prove nothing"
    for secret in secrets:
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"a credential leaked: {leaks[0][:300]!r}"
