"""The ASGI application: FastAPI serving the Strawberry schema at ``/graphql``.

Data flows one way: HTTP -> auth (context getter) -> resolvers -> per-request loaders ->
adapters -> httpx. The lifespan owns every pooled ``httpx.AsyncClient`` (through
:func:`app.gateway.open_gateway`) and, with no config, the built-in demo emulators.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, Request
from strawberry.fastapi import GraphQLRouter

from app.config import Settings
from app.errors import Unauthenticated
from app.gateway import Gateway, open_gateway
from app.graphiql import graphiql_page
from app.operator import install_operator
from app.schema import build_schema
from app.schema.context import Context

log = logging.getLogger("scim_gateway")


async def get_context(request: Request) -> Context:
    gateway: Gateway = request.app.state.gateway
    try:
        principal = gateway.authenticator.authenticate(request.headers.get("authorization"))
    except Unauthenticated as exc:
        return Context(gateway, None, exc)
    return Context(gateway, principal, None)


class _Router(GraphQLRouter[Context, None]):
    def encode_json(self, data: object) -> bytes:
        # orjson is several times faster than json.dumps on large answers.
        return orjson.dumps(data)

    @property
    def graphql_ide_html(self) -> str:
        # GraphiQL from the gateway's own vendored assets, never a CDN (app/graphiql).
        return graphiql_page()


def create_app(
    settings: Settings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """The gateway for ``settings``; with none, the built-in demo tenants on their emulators."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings is None:
            from app.demo import demo_gateway

            async with demo_gateway() as gateway:
                app.state.gateway = gateway
                log.warning("serving the built-in demo tenants (no config given)")
                yield
            return
        async with open_gateway(settings, env=env, transports=transports) as gateway:
            app.state.gateway = gateway
            if gateway.authenticator.is_open:
                log.warning(
                    "no [[clients]] configured: the gateway is OPEN, every caller is an admin"
                )
            yield

    app = FastAPI(title="scim-gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    # The [limits] table (depth, aliases, tokens, cost, deadline, upstream budget).
    schema = build_schema(settings.limits if settings is not None else None)
    router = _Router(schema, context_getter=get_context, graphql_ide="graphiql")
    app.include_router(router, prefix="/graphql")
    install_operator(app, settings)  # /readyz, /metrics, GraphiQL assets, middleware

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    return app
