"""What the gateway does around every operation: authentication, partial errors, client error
codes, metrics and error masking.

Each step is a plain function, called from two places that must behave alike:

- :meth:`app.schema.limits.GatewaySchema.execute`'s own path, taken whenever the schema has no
  extension beyond the gateway's (the default): it calls them in order, without Strawberry's
  extension machinery, which cost ~10% of a small query's CPU;
- :class:`GatewayOperation`, the Strawberry extension doing the same when another extension
  (tracing) needs Strawberry's path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from app.errors import BadUserInput, GatewayError
from app.observability.graphql import record_operation
from app.schema.context import Context

MASKED_MESSAGE = "Internal error."
"""What an unexpected exception says to the client (the log keeps the original)."""


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions; a GatewayError and GraphQL's own errors (validation, and
    variable coercion, which wraps a GraphQLError) pass."""
    original = error.original_error
    return original is not None and not isinstance(original, GatewayError | GraphQLError)


def masked(error: GraphQLError) -> GraphQLError:
    """``error`` as the client sees it: the same place, a generic message, no exception."""
    if not should_mask(error):
        return error
    return GraphQLError(
        MASKED_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
    )


def refused(context: Any) -> GraphQLError | None:
    """The authentication gate: the error refusing the whole operation, before any resolver
    runs, when the caller's key was missing or wrong."""
    if isinstance(context, Context) and context.auth_error is not None:
        err = context.auth_error
        return GraphQLError(err.message, original_error=err)
    return None


def with_partial_errors(
    errors: list[GraphQLError] | None, context: Any
) -> list[GraphQLError] | None:
    """``errors`` and the errors of tenants left out of a merged answer (``errors`` as they
    are when there are none)."""
    if isinstance(context, Context) and context.partial_errors:
        return [*(errors or ()), *context.partial_errors]
    return errors


def finish(ec: ExecutionContext, started: float) -> None:
    """Once the operation's result is in ``ec.result``: every error raised before execution
    (no path, no exception of ours: syntax, validation, limits, variables) gets the code
    ``BAD_USER_INPUT``; the operation is counted and timed (``ok``, ``partial`` or
    ``error``); unexpected exceptions are masked, after the metrics and the log saw them."""
    result = ec.result
    errors = result.errors if result is not None else None
    for err in errors or ():
        original = err.original_error
        if err.path is None and (original is None or isinstance(original, GraphQLError)):
            err.extensions = {"code": BadUserInput.code, **(err.extensions or {})}
    record_operation(ec, started)
    if result is not None and errors:
        result.errors = [masked(err) for err in errors]


class GatewayOperation(SchemaExtension):
    """The steps above as a Strawberry extension, for Strawberry's path (with tracing). Listed
    last, so its exits run first (LIFO): the tracing span ends with the masked result."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        finish(self.execution_context, started)

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        error = refused(ec.context)
        if error is not None:
            ec.result = ExecutionResult(data=None, errors=[error])
        yield
        result = ec.result
        if result is not None:
            result.errors = with_partial_errors(result.errors, ec.context)
