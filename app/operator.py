"""The operator's side of the app, installed by :func:`install_operator` from ``create_app``.

* ``/graphiql/static/``: the vendored GraphiQL assets (the page itself is ``GET /graphql``).
* ``/readyz``: ready for traffic (see :mod:`app.health`); ``/metrics``: Prometheus.
* Middleware, outermost first: request id + metrics scope + access log, tracing (only when
  ``[tracing]`` is enabled), CORS (only when configured), trusted documents (only when
  configured).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from app.config import Settings
from app.gateway import Gateway
from app.graphiql import STATIC_DIR, STATIC_URL
from app.health import breaker_states, readiness
from app.http.cors import install_cors
from app.observability.metrics import CONTENT_TYPE_LATEST, Metrics, UpstreamMetrics
from app.observability.middleware import RequestContextMiddleware
from app.operator_config import CorsConfig
from app.trusted_documents import Manifest, TrustedDocumentsMiddleware, restricted_clients

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider


def _gateway(app: FastAPI) -> Gateway | None:
    if not getattr(app.state, "serving", False):
        return None
    gateway: Gateway | None = getattr(app.state, "gateway", None)
    return gateway


def _breaker_states(app: FastAPI) -> dict[str, str]:
    gateway = _gateway(app)
    return breaker_states(gateway) if gateway is not None else {}


def _track_serving(app: FastAPI) -> None:
    """``app.state.serving`` is true between start-up and the start of shutdown."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            app.state.serving = True
            try:
                yield state
            finally:
                app.state.serving = False

    app.router.lifespan_context = lifespan


def install_operator(
    app: FastAPI, settings: Settings | None, *, tracer_provider: TracerProvider | None = None
) -> Metrics:
    """Add the operator routes and middleware to ``app``; return its metrics. With a
    ``tracer_provider`` (``[tracing]`` enabled), upstream requests are traced into it."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="graphiql-static")
    _track_serving(app)

    metrics = Metrics(breaker_states=lambda: _breaker_states(app))
    app.state.metrics = metrics

    def backend_of(tenant: str) -> str:
        gateway = getattr(app.state, "gateway", None)
        found = gateway.tenants.get(tenant) if gateway is not None else None
        return found.kind.value if found is not None else "unknown"

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        ready, body = readiness(_gateway(app))
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    # Starlette runs the last middleware added first.
    restricted = restricted_clients(settings)
    manifest_cfg = settings.trusted_documents if settings is not None else None
    if manifest_cfg is not None or restricted:
        manifest = Manifest.load(manifest_cfg.manifest) if manifest_cfg is not None else None
        app.add_middleware(
            TrustedDocumentsMiddleware, manifest=manifest, restricted_clients=restricted
        )
    install_cors(app, settings.cors if settings is not None else CorsConfig())
    if tracer_provider is not None:
        from app.observability.tracing import INSTRUMENTATION, TracingMiddleware, UpstreamTracing

        upstream = UpstreamTracing(tracer_provider.get_tracer(INSTRUMENTATION), backend_of)
        app.add_middleware(TracingMiddleware, upstream=upstream)
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, observer=UpstreamMetrics(metrics, backend_of)
    )
    return metrics
