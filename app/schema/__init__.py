"""The Strawberry schema: types, queries, mutations and extensions in one place."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import SchemaExtension

from app.config import Limits
from app.schema.limits import GatewaySchema
from app.schema.mutations import Mutation
from app.schema.queries import Query
from app.schema.types import Group, Member


def build_schema(
    limits: Limits | None = None, *, tracing: Callable[[], SchemaExtension] | None = None
) -> strawberry.Schema:
    """The schema; ``limits`` (the ``[limits]`` table) bounds each operation's size and time.

    ``tracing`` (:func:`app.observability.tracing.graphql_tracing`, only when ``[tracing]`` is
    enabled) runs inside the document checks and outside the gateway's other steps, so its
    operation span ends with the masked result. Without it, the schema runs its steps itself.
    """
    limits = limits or Limits()
    return GatewaySchema(
        limits,
        query=Query,
        mutation=Mutation,
        types=[Group, Member],
        extensions=(tracing,) if tracing is not None else (),
    )


schema = build_schema()

__all__ = ["build_schema", "schema"]
