"""The schema extension that counts and times GraphQL operations into the request's metrics."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from app.observability.metrics import current_metrics

_NAME = re.compile(r"[^A-Za-z0-9_]")


class GraphQLMetrics(SchemaExtension):
    """Count and time each operation: ``ok``, ``partial`` (data and errors) or ``error``."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        metrics = current_metrics.get()
        if metrics is None:
            return
        ctx = self.execution_context
        name = _NAME.sub("", ctx.operation_name or "")[:64] or "anonymous"
        try:
            kind = ctx.operation_type.value
        except Exception:  # the document did not parse: there is no operation type
            kind = "unknown"
        result = ctx.result
        errors = (result.errors if result is not None else None) or ctx.pre_execution_errors
        data = result.data if result is not None else None
        outcome = "ok" if not errors else ("partial" if data else "error")
        metrics.graphql_requests.labels(name, kind, outcome).inc()
        metrics.graphql_duration.labels(name, kind).observe(time.perf_counter() - started)
