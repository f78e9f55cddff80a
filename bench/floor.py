"""The throughput floor: a bare FastAPI route doing what ``node(id:)`` of a Descope group does.

Same server (uvicorn), same pooled client (:class:`~app.adapters.transport.UpstreamClient`, base
URL, pool size, timeout, default headers and transport as :func:`app.gateway.open_gateway`
builds them), the same one upstream ``GET /scim/v2/Groups/{id}``, and the same JSON answer, byte
for byte. No GraphQL, no loaders, no models: what is left is the cost of HTTP in, HTTP out and
two JSON encodings.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from fastapi import FastAPI, Request, Response

from app.adapters.transport import UpstreamClient, upstream_transport

NODE_QUERY = (
    "query Node($id: ID!) { node(id: $id) { id ... on Group "
    "{ displayName externalId memberCount } } }"
)
"""The document scenario 3 sends to both the gateway and the floor."""


def create_floor_app(descope_url: str, authorization: str) -> FastAPI:
    """``authorization`` is the Descope SCIM header, ``Bearer <ProjectId>:<AccessKey>``."""
    auth = {"Accept": "application/scim+json, application/json", "Authorization": authorization}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
        async with UpstreamClient(
            base_url=descope_url,
            timeout=httpx.Timeout(10.0),
            limits=limits,
            transport=upstream_transport(limits),
            headers={
                "User-Agent": "scim-gateway",
                "Accept": "application/scim+json, application/json",
            },
        ) as client:
            app.state.client = client
            yield

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/graphql")
    async def node(request: Request) -> Response:
        global_id: str = orjson.loads(await request.body())["variables"]["id"]
        padded = global_id + "=" * (-len(global_id) % 4)
        _, _, scim_id = base64.urlsafe_b64decode(padded).decode().split(":", 2)
        client: httpx.AsyncClient = request.app.state.client
        upstream = await client.get(f"scim/v2/Groups/{quote(scim_id, safe='')}", headers=auth)
        upstream.raise_for_status()
        group: dict[str, Any] = orjson.loads(upstream.content)
        answer = {
            "data": {
                "node": {
                    "id": global_id,
                    "displayName": group["displayName"],
                    "externalId": group.get("externalId"),
                    "memberCount": len(group.get("members") or ()),
                }
            }
        }
        return Response(orjson.dumps(answer), media_type="application/json")

    return app
