"""OpenTelemetry tracing (``[tracing]``): an operation span, a CLIENT span per upstream
attempt with its ``traceparent`` sent upstream, no secrets in attributes; nothing when off."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import ValidationError
from strawberry.extensions.tracing import OpenTelemetryExtension, OpenTelemetryExtensionSync

from app.config import ConfigError, Settings, load_settings
from app.demo import demo_settings, demo_transports
from app.emulators import DemoEnvironment
from app.emulators import demo as seeds
from app.main import create_app
from app.observability.tracing import UpstreamTracing, _exporter, build_provider
from app.operator_config import TracingConfig
from tests.gateway.conftest import small_demo
from tests.ops.conftest import RecordingTransport

ON = TracingConfig(enabled=True)
QUERY = """query Members { tenants { id groups(first: 3) {
  nodes { displayName members { display } } } } }"""
BACKENDS = {"acme": "descope", "globex": "condeco", "initech": "scim"}
SECRETS = (
    seeds.DESCOPE_ACCESS_KEY,
    seeds.DESCOPE_MANAGEMENT_KEY,
    seeds.CONDECO_CLIENT_SECRET,
    seeds.SCIM_TOKEN,
)


@dataclass
class Traced:
    http: httpx.AsyncClient
    app: FastAPI
    demo: DemoEnvironment
    transports: dict[str, RecordingTransport]
    exporter: InMemorySpanExporter

    async def query(self, query: str = QUERY, **headers: str) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def spans(self) -> tuple[ReadableSpan, ...]:
        return tuple(self.exporter.get_finished_spans())

    def upstream(self) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.kind is SpanKind.CLIENT]


def in_memory() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


@asynccontextmanager
async def traced(tracing: TracingConfig = ON) -> AsyncIterator[Traced]:
    """The gateway over the demo emulators, its spans kept in memory."""
    provider, exporter = in_memory()
    demo = small_demo()
    base, env = demo_settings()
    settings = Settings(tenants=base.tenants, tracing=tracing)
    transports = {t: RecordingTransport(x) for t, x in demo_transports(demo).items()}
    app = create_app(settings, env=env, transports=transports, tracer_provider=provider)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield Traced(http, app, demo, transports, exporter)
    provider.shutdown()


def _attribute_texts(span: ReadableSpan) -> Iterator[str]:
    yield span.name
    for key, value in (span.attributes or {}).items():
        yield key
        yield from (str(v) for v in value) if isinstance(value, tuple) else (str(value),)


async def test_a_query_gets_an_operation_span_and_a_client_span_per_upstream_request() -> None:
    async with traced() as gw:
        body = await gw.query()
        spans = gw.spans()

    assert "errors" not in body
    [operation] = [s for s in spans if s.name == "GraphQL Query: Members"]
    assert operation.kind is SpanKind.SERVER
    upstream = gw.upstream()
    assert {s.attributes["scim_gateway.tenant"] for s in upstream if s.attributes} == set(BACKENDS)
    for span in upstream:
        attrs = span.attributes or {}
        tenant = str(attrs["scim_gateway.tenant"])
        assert attrs["scim_gateway.backend"] == BACKENDS[tenant]
        assert attrs["http.request.method"] in {"GET", "POST"}
        assert attrs["http.response.status_code"] == 200
        path = str(attrs["url.path"])
        assert path.startswith("/") and "?" not in path
        assert span.name == f"SCIM {attrs['http.request.method']} {path}"
        assert span.status.status_code is StatusCode.UNSET
    assert any(s.name == "SCIM GET /v2/Groups" for s in upstream)
    assert any(s.name == "SCIM POST /api/V1/token" for s in upstream)  # Condeco's token


async def test_upstream_spans_belong_to_the_operations_trace_and_send_their_traceparent() -> None:
    async with traced() as gw:
        await gw.query()
        spans = gw.spans()

    [operation] = [s for s in spans if s.name == "GraphQL Query: Members"]
    assert operation.context is not None
    trace_id = operation.context.trace_id
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    upstream = gw.upstream()
    assert upstream
    for span in upstream:
        assert span.context is not None and span.context.trace_id == trace_id
        assert span.parent is not None and span.parent.span_id in by_id  # inside the operation
    sent = [h["traceparent"] for t in gw.transports.values() for h in t.headers]
    assert len(sent) == len(upstream)
    client_ids = {f"{s.context.span_id:016x}" for s in upstream if s.context is not None}
    for header in sent:
        version, header_trace, parent_id, _flags = header.split("-")
        assert (version, header_trace) == ("00", f"{trace_id:032x}")
        assert parent_id in client_ids  # each attempt's own span is the upstream's parent


async def test_a_callers_traceparent_is_continued() -> None:
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{caller_trace}-00f067aa0ba902b7-01"
    async with traced() as gw:
        await gw.query(traceparent=traceparent)
        spans = gw.spans()

    assert spans
    assert {f"{s.context.trace_id:032x}" for s in spans if s.context is not None} == {caller_trace}


async def test_no_span_attribute_holds_a_secret_or_a_query_string() -> None:
    async with traced() as gw:
        await gw.query()
        # Group search by filter: the filter goes upstream in the query string.
        await gw.query('{ groups(first: 2, filter: {displayName: "Eng"}) { nodes { id } } }')
        spans = gw.spans()

    assert gw.upstream()
    texts = [text for span in spans for text in _attribute_texts(span)]
    for secret in SECRETS:
        assert not [t for t in texts if secret in t], secret
    for span in gw.upstream():
        assert not any("?" in t or "filter=" in t for t in _attribute_texts(span))
        assert not any("authorization" in str(k).lower() for k in span.attributes or {})


async def test_a_failed_attempt_is_an_error_span_and_its_retry_a_new_span() -> None:
    async with traced() as gw:
        gw.demo.scim.faults.fail_next(1, 503)
        body = await gw.query('{ tenant(id: "initech") { groups(first: 2) { nodes { id } } } }')
        upstream = gw.upstream()

    assert "errors" not in body
    failed = upstream[0]
    assert (failed.attributes or {})["http.response.status_code"] == 503
    [retried] = [s for s in upstream[1:] if s.name == failed.name]
    assert (retried.attributes or {})["http.response.status_code"] == 200
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "503"
    assert retried.status.status_code is StatusCode.UNSET
    assert failed.context is not None and retried.context is not None
    assert failed.context.span_id != retried.context.span_id


@pytest.mark.parametrize("status", ["timeout", "unreachable", "cancelled"])
def test_an_attempt_without_an_answer_is_an_error_span(status: str) -> None:
    provider, exporter = in_memory()
    upstream = UpstreamTracing(provider.get_tracer("test"), lambda tenant: "scim")
    request = httpx.Request("GET", "http://scim.demo/v2/Users/2819c223-7f76-453a?attributes=x")
    upstream.start("initech", request).end(status)

    [span] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == status
    assert span.attributes["url.path"] == "/v2/Users/{id}"
    assert "http.response.status_code" not in span.attributes
    assert request.headers["traceparent"].startswith("00-")


async def test_with_tracing_off_no_span_is_made_and_the_schema_has_no_tracing() -> None:
    async with traced(TracingConfig()) as gw:
        body = await gw.query()
        spans = gw.spans()
        sent = [h for t in gw.transports.values() for h in t.headers]

    assert "errors" not in body
    assert spans == ()
    assert sent and not any("traceparent" in h for h in sent)
    assert gw.app.state.tracer_provider is None
    for extension in gw.app.state.schema.extensions:
        factory = extension.func if isinstance(extension, partial) else extension
        assert not (isinstance(factory, type) and issubclass(factory, OpenTelemetryExtension))


def test_with_tracing_on_the_schema_has_the_synchronous_extension() -> None:
    provider, _ = in_memory()
    base, env = demo_settings()
    app = create_app(Settings(tenants=base.tenants, tracing=ON), env=env, tracer_provider=provider)
    factories = [e.func if isinstance(e, partial) else e for e in app.state.schema.extensions]
    [tracing] = [
        f for f in factories if isinstance(f, type) and issubclass(f, OpenTelemetryExtension)
    ]
    assert issubclass(tracing, OpenTelemetryExtensionSync)


async def test_the_app_owns_the_provider_it_builds_and_shuts_it_down_on_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, env = demo_settings()
    config = TracingConfig(enabled=True, service_name="gw-test", sample_ratio=0.5)
    app = create_app(
        Settings(tenants=base.tenants, tracing=config),
        env=env,
        transports=demo_transports(small_demo()),
    )
    provider = app.state.tracer_provider
    assert isinstance(provider, TracerProvider)
    assert provider.resource.attributes["service.name"] == "gw-test"
    assert "0.5" in provider.sampler.get_description()
    closed: list[bool] = []
    real_shutdown = provider.shutdown
    monkeypatch.setattr(provider, "shutdown", lambda: closed.append(True) or real_shutdown())
    async with LifespanManager(app):
        assert not closed
    assert closed == [True]


def test_an_injected_provider_is_not_shut_down_by_the_app() -> None:
    provider, _ = in_memory()
    base, env = demo_settings()
    app = create_app(Settings(tenants=base.tenants, tracing=ON), env=env, tracer_provider=provider)
    assert app.state.tracer_provider is provider


def test_the_otlp_exporter_reads_the_standard_endpoint_variable() -> None:
    config = TracingConfig(enabled=True, exporter="otlp")
    exporter = _exporter(config, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"})
    assert getattr(exporter, "_endpoint", None) == "http://collector:4318/v1/traces"
    build_provider(config, {}).shutdown()


def _config_with_tracing(tmp_path: Path, table: str) -> Path:
    """A config file of one tenant and an enabled ``[tracing]`` table with ``table`` in it."""
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
[[tenants]]
id = "acme"
name = "Acme"
backend = "scim"
base_url = "http://127.0.0.1:18080/v2"

[tracing]
enabled = true
{table}
"""
    )
    return path


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('exporter = "jaeger"', "tracing.exporter: Input should be 'console' or 'otlp'"),
        ("sample_ratio = 1.5", "tracing.sample_ratio: Input should be less than or equal to 1"),
        ("sample_ratio = -0.1", "tracing.sample_ratio: Input should be greater than or equal"),
        ('service_name = ""', "tracing.service_name: String should have at least 1 character"),
        ("endpoint = 'http://x'", "tracing.endpoint: Extra inputs are not permitted"),
    ],
)
def test_a_bad_tracing_table_names_the_key(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(_config_with_tracing(tmp_path, table))


def test_the_documented_tracing_table_loads(tmp_path: Path) -> None:
    table = 'exporter = "otlp"\nservice_name = "scim-gateway"\nsample_ratio = 0.25'
    settings = load_settings(_config_with_tracing(tmp_path, table))
    assert settings.tracing == TracingConfig(
        enabled=True, exporter="otlp", service_name="scim-gateway", sample_ratio=0.25
    )
    assert Settings(tenants=settings.tenants).tracing.enabled is False


def test_tracing_config_refuses_an_unknown_exporter() -> None:
    with pytest.raises(ValidationError, match="'console' or 'otlp'"):
        TracingConfig(enabled=True, exporter="zipkin")  # type: ignore[arg-type]
