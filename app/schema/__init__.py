"""The Strawberry schema: types, queries, mutations and extensions in one place."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors

from app.schema.extensions import Authenticate, PartialErrors, should_mask
from app.schema.mutations import Mutation
from app.schema.queries import Query
from app.schema.types import Group, Member


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Group, Member],
        extensions=[
            Authenticate,
            PartialErrors,
            lambda: MaskErrors(should_mask_error=should_mask, error_message="Internal error."),
        ],
    )


schema = build_schema()

__all__ = ["build_schema", "schema"]
