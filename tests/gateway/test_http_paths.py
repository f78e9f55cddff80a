"""A POST of one JSON operation goes straight to the schema (app/http/graphql.py); any other
request goes through Strawberry's view. Both must answer alike.

The same gateway gets each body twice: as ``application/json``, which the direct path takes,
and as ``application/json;charset=UTF-8``, which only Strawberry's view takes (it parses the
media type). Status, content type and body must be the same, and a spy on Strawberry's
``run`` shows which path each request took.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.http.graphql import GraphQLApp
from tests.gateway.conftest import open_client, small_demo
from tests.gateway.test_operation_steps import CASES

DIRECT = "application/json"
STRAWBERRY = "application/json;charset=UTF-8"


@pytest.fixture
async def http(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    runs: list[str] = []
    run = GraphQLApp.run

    async def spy(self: GraphQLApp, request: Any, *args: Any, **kwargs: Any) -> Any:
        runs.append(request.headers.get("content-type", ""))
        return await run(self, request, *args, **kwargs)

    monkeypatch.setattr(GraphQLApp, "run", spy)
    async for client in open_client(small_demo()):
        yield client.http, runs


async def _both(
    http: tuple[httpx.AsyncClient, list[str]], body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, str, str]:
    client, runs = http
    answers = []
    for content_type in (DIRECT, STRAWBERRY):
        response = await client.post(
            "/graphql", content=body, headers={**(headers or {}), "content-type": content_type}
        )
        answers.append(
            (response.status_code, response.headers.get("content-type", ""), response.text)
        )
    assert answers[0] == answers[1]
    assert runs[-1] == STRAWBERRY
    return answers[0]


@pytest.mark.parametrize("case", CASES)
async def test_operations_are_answered_alike(
    http: tuple[httpx.AsyncClient, list[str]], case: str
) -> None:
    body = httpx.Request("POST", "/", json=CASES[case]["json"]).content
    await _both(http, body, CASES[case].get("headers"))
    assert http[1] == [STRAWBERRY]  # the application/json request never reached `run`


@pytest.mark.parametrize(
    ("body", "direct"),
    [
        (b"{ not json", False),
        (b"", False),
        (b"[]", False),
        (b'[{"query": "{ tenants { id } }"}]', False),  # a batch: not enabled
        (b'"just a string"', False),  # Strawberry alone: a 500 (AttributeError)
        (b"null", False),
        (b"5", False),
        (b'{"query": 5}', False),
        (b'{"query": "{ tenants { id } }", "variables": [1]}', False),
        (b'{"query": "{ tenants { id } }", "extensions": "x"}', False),
        (b'{"query": "{ tenants { id } }", "operationName": 5}', True),
        (b'{"query": "{ tenants { id } }", "variables": null, "extensions": null}', True),
        (b'{"query": "{ tenants { id } }", "variables": {"unused": 1}, "extensions": {}}', True),
    ],
)
async def test_odd_bodies_are_answered_alike(
    http: tuple[httpx.AsyncClient, list[str]], body: bytes, direct: bool
) -> None:
    status, _, text = await _both(http, body)
    named_5 = body.endswith(b'"operationName": 5}')  # no operation of that name
    assert status == (200 if direct and not named_5 else 400)
    assert http[1] == ([STRAWBERRY] if direct else [DIRECT, STRAWBERRY])
    assert text and "Traceback" not in text
