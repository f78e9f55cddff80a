"""Counting and timing GraphQL operations into the request's metrics."""

from __future__ import annotations

import re
import time
from functools import lru_cache

from strawberry.types import ExecutionContext

from app.observability.metrics import current_metrics

_NAME = re.compile(r"[^A-Za-z0-9_]")


@lru_cache(maxsize=256)
def _label(operation_name: str) -> str:
    """An operation's name as a metric label (memoised, bounded: clients send a few names)."""
    return _NAME.sub("", operation_name)[:64] or "anonymous"


def record_operation(ctx: ExecutionContext, started: float) -> None:
    """Count and time one operation into the request's metrics: ``ok``, ``partial`` (data and
    errors) or ``error``. Called by the gateway's extension once the operation is done."""
    metrics = current_metrics.get()
    if metrics is None:
        return
    name = _label(ctx.operation_name or "")
    try:
        kind = ctx.operation_type.value
    except Exception:  # the document did not parse: there is no operation type
        kind = "unknown"
    result = ctx.result
    errors = (result.errors if result is not None else None) or ctx.pre_execution_errors
    data = result.data if result is not None else None
    outcome = "ok" if not errors else ("partial" if data else "error")
    metrics.child(metrics.graphql_requests, name, kind, outcome).inc()
    metrics.child(metrics.graphql_duration, name, kind).observe(time.perf_counter() - started)
