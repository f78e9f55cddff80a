"""Per-operation limits the send step enforces: a deadline and a budget of upstream requests.

The schema layer opens an :class:`OperationScope` around each GraphQL operation
(:func:`operation_scope`); asyncio copies context variables into every task it starts, so the
dataloaders' batch tasks and ``gather``-ed reads all see the same scope. Outside an operation
(adapter tests, scripts) there is none and nothing is limited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from app.errors import BadUserInput


@dataclass(slots=True)
class OperationScope:
    deadline: float | None
    """``loop.time()`` by which every upstream call must have answered."""
    max_requests: int | None
    sent: int = 0

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - asyncio.get_running_loop().time()

    def spend(self) -> None:
        """Count one upstream request; refuse it when the operation has used its budget."""
        self.sent += 1
        if self.max_requests is not None and self.sent > self.max_requests:
            raise BadUserInput(
                f"this operation needs more than {self.max_requests} upstream requests: "
                "ask for fewer or smaller pages, or split it"
            )


_SCOPE: ContextVar[OperationScope | None] = ContextVar("scim_gateway_operation", default=None)


def current_scope() -> OperationScope | None:
    return _SCOPE.get()


@contextmanager
def operation_scope(
    deadline_seconds: float | None, max_requests: int | None
) -> Iterator[OperationScope]:
    """Limit every upstream request made inside (and in tasks started inside) this block."""
    loop = asyncio.get_running_loop()
    deadline = None if deadline_seconds is None else loop.time() + deadline_seconds
    scope = OperationScope(deadline, max_requests)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)
