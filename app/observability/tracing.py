"""OpenTelemetry tracing, when the ``[tracing]`` table enables it (off by default).

Only imported then: without it the schema has no tracing extension and the upstream send step
finds no tracer, so the default path does no tracing work at all. When enabled:

* :class:`GraphQLTracing`: Strawberry's *synchronous* OpenTelemetry extension (the async one
  costs several times the execution time) opens a span per operation, parse, validation and
  resolver; this subclass also makes the operation span current while the operation executes,
  so upstream spans are its children.
* :class:`UpstreamTracing` (the upstream tracer :mod:`app.adapters.http` calls): a CLIENT
  span per upstream attempt, ``SCIM GET /scim/v2/Groups/{id}``, and its W3C ``traceparent``
  sent upstream. Attributes hold the method, the route with ids replaced, the status, the
  tenant and the backend: never a header, a credential or a query string.
* :class:`TracingMiddleware`: continues a caller's W3C trace (``traceparent``) and makes the
  upstream tracer current for the request.

The app owns the :class:`TracerProvider` it builds (:func:`build_provider`) and shuts it down
with its lifespan; tests inject their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from functools import partial

import httpx
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import LifecycleStep, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtensionSync

from app.adapters.http import UPSTREAM_TRACER
from app.config import ConfigError
from app.observability.metrics import upstream_route
from app.operator_config import TracingConfig

__all__ = [
    "GraphQLTracing",
    "TracingMiddleware",
    "UpstreamTracing",
    "build_provider",
    "graphql_tracing",
]

INSTRUMENTATION = "scim_gateway"
OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
_W3C = TraceContextTextMapPropagator()


# -- the provider ------------------------------------------------------------------------------


def _exporter(config: TracingConfig, env: Mapping[str, str] | None) -> SpanExporter:
    if config.exporter == "console":
        return ConsoleSpanExporter(service_name=config.service_name)
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:  # pragma: no cover - installed with the tracing extra
        raise ConfigError(
            "[tracing] exporter = 'otlp' needs opentelemetry-exporter-otlp-proto-http "
            "(pip install 'scim-gateway[tracing]')"
        ) from exc
    if env is None or env is os.environ:
        return OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_* itself
    base = env.get(OTLP_ENDPOINT_ENV)
    endpoint = f"{base.rstrip('/')}/v1/traces" if base else None
    return OTLPSpanExporter(endpoint=endpoint)


def build_provider(config: TracingConfig, env: Mapping[str, str] | None = None) -> TracerProvider:
    """A provider for ``config``: its service name, its sampling ratio (a caller's sampled
    ``traceparent`` is followed) and a batching processor to its exporter."""
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: config.service_name}),
        sampler=ParentBased(TraceIdRatioBased(config.sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(_exporter(config, env)))
    return provider


# -- GraphQL operations ------------------------------------------------------------------------


class GraphQLTracing(OpenTelemetryExtensionSync):
    """Strawberry's synchronous OpenTelemetry extension, with the operation span current
    during execution, so the upstream spans the resolvers cause are its children."""

    def on_execute(self) -> Iterator[None]:
        operation = self._span_holder.get(LifecycleStep.OPERATION)
        if operation is None:  # pragma: no cover - on_operation always runs first
            yield
            return
        token = otel_context.attach(trace.set_span_in_context(operation))
        try:
            yield
        finally:
            otel_context.detach(token)


def graphql_tracing(provider: trace.TracerProvider) -> Callable[[], SchemaExtension]:
    """The schema extension factory tracing each operation into ``provider``."""
    return partial(GraphQLTracing, tracer_provider=provider)


# -- upstream requests -------------------------------------------------------------------------


class _UpstreamSpan:
    __slots__ = ("_span",)

    def __init__(self, span: Span) -> None:
        self._span = span

    def end(self, status: str) -> None:
        span = self._span
        if status.isdigit():
            code = int(status)
            span.set_attribute("http.response.status_code", code)
            if code >= 400:
                span.set_attribute("error.type", status)
                span.set_status(Status(StatusCode.ERROR))
        else:
            span.set_attribute("error.type", status)
            span.set_status(Status(StatusCode.ERROR, f"upstream {status}"))
        span.end()


class UpstreamTracing:
    """The upstream tracer: a CLIENT span per attempt, its ``traceparent`` sent upstream."""

    def __init__(self, tracer: Tracer, backend_of: Callable[[str], str]) -> None:
        self._tracer = tracer
        self._backend_of = backend_of

    def start(self, tenant: str, request: httpx.Request) -> _UpstreamSpan:
        route = upstream_route(request.url.path)
        path = route if route.startswith("/") else f"/{route}"
        method = request.method
        span = self._tracer.start_span(
            f"SCIM {method} {path}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": method,
                "url.path": path,
                "server.address": request.url.host,
                "scim_gateway.tenant": tenant,
                "scim_gateway.backend": self._backend_of(tenant),
            },
        )
        _W3C.inject(request.headers, context=trace.set_span_in_context(span))
        return _UpstreamSpan(span)


# -- per request -------------------------------------------------------------------------------


class TracingMiddleware:
    """Continues the caller's W3C trace, if any, and makes the upstream tracer current."""

    def __init__(self, app: ASGIApp, *, upstream: UpstreamTracing) -> None:
        self.app = app
        self.upstream = upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parent = _W3C.extract(Headers(scope=scope))
        context_token = otel_context.attach(parent)
        tracer_token = UPSTREAM_TRACER.set(self.upstream)
        try:
            await self.app(scope, receive, send)
        finally:
            UPSTREAM_TRACER.reset(tracer_token)
            otel_context.detach(context_token)
