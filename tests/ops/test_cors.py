"""CORS: only configured origins get a preflight answer; none are open by default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.operator_config import CorsConfig
from tests.ops.conftest import in_process

ALLOWED = "https://admin.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_a_preflight_from_an_allowed_origin_is_answered_with_its_max_age() -> None:
    cors = CorsConfig(allow_origins=[ALLOWED], allow_credentials=True, max_age_seconds=300)
    async with in_process(cors=cors) as gw:
        response = await gw.http.options("/graphql", headers={"Origin": ALLOWED, **PREFLIGHT})
        simple = await gw.http.post(
            "/graphql", json={"query": "{ tenants { id } }"}, headers={"Origin": ALLOWED}
        )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "300"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert simple.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_a_preflight_from_another_origin_is_refused() -> None:
    async with in_process(cors=CorsConfig(allow_origins=[ALLOWED])) as gw:
        response = await gw.http.options(
            "/graphql", headers={"Origin": "https://evil.example.net", **PREFLIGHT}
        )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_without_cors_config_no_origin_gets_cors_headers() -> None:
    async with in_process() as gw:
        preflight = await gw.http.options("/graphql", headers={"Origin": ALLOWED, **PREFLIGHT})
        simple = await gw.http.post(
            "/graphql", json={"query": "{ tenants { id } }"}, headers={"Origin": ALLOWED}
        )

    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


@pytest.mark.parametrize("origin", ["*", "https://a.example.com/path", "a.example.com"])
def test_cors_config_refuses_wildcards_and_non_origins(origin: str) -> None:
    with pytest.raises(ValidationError, match="not an exact origin"):
        CorsConfig(allow_origins=[origin])
