"""Schema extensions: the authentication gate and per-tenant partial errors."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension

from app.errors import GatewayError
from app.schema.context import Context


class Authenticate(SchemaExtension):
    """Refuse the whole operation, before any resolver runs, when the key was missing or wrong."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context.context
        if isinstance(ctx, Context) and ctx.auth_error is not None:
            err = ctx.auth_error
            self.execution_context.result = ExecutionResult(
                data=None, errors=[GraphQLError(err.message, original_error=err)]
            )
        yield


class PartialErrors(SchemaExtension):
    """Add the errors of tenants left out of a merged answer to the response's ``errors``."""

    def on_execute(self) -> Iterator[None]:
        yield
        ctx = self.execution_context.context
        result = self.execution_context.result
        if isinstance(ctx, Context) and ctx.partial_errors and result is not None:
            result.errors = [*(result.errors or []), *ctx.partial_errors]


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions; a GatewayError and GraphQL's own errors (validation, and
    variable coercion, which wraps a GraphQLError) pass."""
    original = error.original_error
    return original is not None and not isinstance(original, GatewayError | GraphQLError)
