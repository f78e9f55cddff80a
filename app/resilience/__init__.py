"""What keeps one slow or failing directory from hurting the gateway or the other tenants.

Wired into the one send step (:class:`app.adapters.http.Upstream`):

* :mod:`app.resilience.retry`: retries of idempotent reads, jittered, honouring ``Retry-After``;
* :mod:`app.resilience.breaker`: a per-tenant circuit breaker that fails fast while open;
* :mod:`app.resilience.budget`: the per-operation deadline and upstream-request budget, a
  contextvar the schema layer sets around each GraphQL operation.

Nothing here imports Strawberry; errors are :mod:`app.errors` classes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from app.resilience.breaker import CircuitBreaker
from app.resilience.budget import OperationScope, current_scope, operation_scope
from app.resilience.retry import RetryPolicy


@dataclass(slots=True)
class Resilience:
    """One tenant's retry policy, breaker and cap on concurrent upstream requests.

    The default does nothing (one attempt, no breaker, no cap): what an adapter built by hand,
    outside :func:`app.gateway.open_gateway`, gets.
    """

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: CircuitBreaker | None = None
    concurrency: asyncio.Semaphore | None = None


__all__ = [
    "CircuitBreaker",
    "OperationScope",
    "Resilience",
    "RetryPolicy",
    "current_scope",
    "operation_scope",
]
