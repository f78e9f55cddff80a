"""Prometheus metrics at ``/metrics``: GraphQL operations, upstream requests, dataloader batches.

Each app has its own :class:`Metrics` (its own registry, so two apps in one process never mix
counts). The request middleware puts it in :data:`current_metrics` for the request; the
schema extension (``app.observability.graphql.record_operation``), :func:`observe_batch`
(called by the loaders) and :class:`UpstreamMetrics` (the observer the upstream send step
calls) find it there.

Labels are bounded: operation names are clipped, upstream routes have ids replaced by
``{id}``, statuses are the HTTP code or ``timeout`` / ``unreachable``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.observability.requestid import HEADER, current_request_id

__all__ = [
    "CONTENT_TYPE_LATEST",
    "Metrics",
    "UpstreamMetrics",
    "current_metrics",
    "observe_batch",
    "observe_speculation",
    "upstream_route",
]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
BREAKER_STATES = ("closed", "half_open", "open")
_M = TypeVar("_M", bound=MetricWrapperBase)


class _BreakerCollector(Collector):
    """``scim_gateway_circuit_breaker_state{tenant,state}`` = 1 for each tenant's current state,
    read at scrape time through ``states()`` (empty while the gateway has no breakers)."""

    def __init__(self, states: Callable[[], Mapping[str, str]]) -> None:
        self._states = states

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "scim_gateway_circuit_breaker_state",
            "1 for the circuit breaker state each tenant is in.",
            labels=["tenant", "state"],
        )
        for tenant, current in sorted(self._states().items()):
            for state in BREAKER_STATES:
                family.add_metric([tenant, state], 1.0 if current == state else 0.0)
        yield family


class Metrics:
    """Every metric the gateway exports, in one registry of its own."""

    def __init__(self, breaker_states: Callable[[], Mapping[str, str]] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.graphql_requests = Counter(
            "scim_gateway_graphql_requests",
            "GraphQL operations by operation name, type and outcome (ok, partial, error).",
            ["operation", "type", "outcome"],
            registry=self.registry,
        )
        self.graphql_duration = Histogram(
            "scim_gateway_graphql_duration_seconds",
            "Time to execute a GraphQL operation.",
            ["operation", "type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_requests = Counter(
            "scim_gateway_upstream_requests",
            "Requests to SCIM directories by tenant, backend, route, method and status.",
            ["tenant", "backend", "route", "method", "status"],
            registry=self.registry,
        )
        self.upstream_duration = Histogram(
            "scim_gateway_upstream_request_duration_seconds",
            "Latency of requests to SCIM directories.",
            ["tenant", "backend", "route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "scim_gateway_dataloader_batch_size",
            "Keys per dataloader batch, by tenant and loader.",
            ["tenant", "loader"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.speculative_answers = Counter(
            "scim_gateway_speculative_answers",
            "Queries run ahead on reads assumed unchanged, by outcome: kept (every read came"
            " back the same) or redone (one changed or failed: run again on its answer).",
            ["outcome"],
            registry=self.registry,
        )
        if breaker_states is not None:
            self.registry.register(_BreakerCollector(breaker_states))
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}

    def child(self, metric: _M, *labels: str) -> _M:
        """``metric.labels(*labels)``, from a dict after the first time: ``labels()`` checks
        its arguments and takes a lock on every call (~3 us, five times a request). Holds
        one entry per series the registry holds anyway."""
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


current_metrics: ContextVar[Metrics | None] = ContextVar("scim_gateway_metrics", default=None)


def observe_batch(tenant: str, loader: str, size: int) -> None:
    """Record one dataloader batch of ``size`` keys (a no-op outside a gateway request)."""
    metrics = current_metrics.get()
    if metrics is not None:
        metrics.child(metrics.batch_size, tenant, loader).observe(size)


def observe_speculation(outcome: str) -> None:
    """Record a query run ahead (``kept`` or ``redone``; a no-op outside a request)."""
    metrics = current_metrics.get()
    if metrics is not None:
        metrics.child(metrics.speculative_answers, outcome).inc()


# -- upstream -----------------------------------------------------------------------------

_ID_AFTER = frozenset({"groups", "users"})
_ID_LIKE = re.compile(r"^(?=.*\d)[A-Za-z0-9_.:@-]{12,}$|^\d+$")


@lru_cache(maxsize=1024)
def upstream_route(url: str) -> str:
    """A low-cardinality route for a request URL: ``Groups/{id}``, ``Groups/.search``,
    ``api/V1/token`` (an absolute URL keeps only its path). Memoised, bounded: the gateway
    sends the same URLs again and again, and working one out took ~6 us per request."""
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    out: list[str] = []
    for segment in path.split("/"):
        if not segment:
            continue
        after_collection = bool(out) and out[-1].lower() in _ID_AFTER
        if (after_collection and not segment.startswith(".")) or _id_like(segment):
            out.append("{id}")
        else:
            out.append(segment)
    return "/".join(out)[:100] or "/"


def _id_like(segment: str) -> bool:
    # What _ID_LIKE can match: 12 characters or more, or digits only.
    return (len(segment) >= 12 or segment.isdigit()) and _ID_LIKE.match(segment) is not None


class UpstreamMetrics:
    """The upstream observer: sends the request id on, counts and times every request."""

    def __init__(self, metrics: Metrics, backend_of: Callable[[str], str]) -> None:
        self._metrics = metrics
        self._backend_of = backend_of

    def headers(self) -> Mapping[str, str]:
        request_id = current_request_id.get()
        return {HEADER: request_id} if request_id else {}

    def observe(self, tenant: str, method: str, url: str, status: str, seconds: float) -> None:
        route, backend = upstream_route(url), self._backend_of(tenant)
        m = self._metrics
        m.child(m.upstream_requests, tenant, backend, route, method, status).inc()
        m.child(m.upstream_duration, tenant, backend, route, method).observe(seconds)
