"""The gateway's schema extension (authentication, partial errors, codes, metrics) and the
error-masking rule."""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension

from app.errors import GatewayError
from app.observability.graphql import record_operation
from app.schema.context import Context
from app.schema.limits import BAD_USER_INPUT


class GatewayOperation(SchemaExtension):
    """What the gateway does around every operation, in one extension (each extension costs
    hook machinery on every request). Listed last, so its exits run first (LIFO).

    - The authentication gate: refuse the whole operation, before any resolver runs, when
      the key was missing or wrong.
    - Partial errors: add the errors of tenants left out of a merged answer to ``errors``.
    - Client error codes: every error raised before execution (syntax, validation, limits,
      variables) is ``BAD_USER_INPUT``; done before MaskErrors sees the errors.
    - Metrics: count and time the operation (``ok``, ``partial`` or ``error``).
    """

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        result = self.execution_context.result
        for err in (result.errors if result is not None else None) or ():
            original = err.original_error
            if err.path is None and (original is None or isinstance(original, GraphQLError)):
                err.extensions = {"code": BAD_USER_INPUT, **(err.extensions or {})}
        record_operation(self.execution_context, started)

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        ctx = ec.context
        if isinstance(ctx, Context) and ctx.auth_error is not None:
            err = ctx.auth_error
            ec.result = ExecutionResult(
                data=None, errors=[GraphQLError(err.message, original_error=err)]
            )
        yield
        result = ec.result
        if isinstance(ctx, Context) and ctx.partial_errors and result is not None:
            result.errors = [*(result.errors or []), *ctx.partial_errors]


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions; a GatewayError and GraphQL's own errors (validation, and
    variable coercion, which wraps a GraphQLError) pass."""
    original = error.original_error
    return original is not None and not isinstance(original, GatewayError | GraphQLError)
