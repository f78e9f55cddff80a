"""GraphQL input types, and their translation into plain records the adapters understand."""

from __future__ import annotations

import strawberry

from app.filters import FilterSpec

DEFAULT_FIRST = 50
"""Groups per page when a query gives no ``first`` (``Tenant.groups``, ``Query.groups``)."""
MAX_FIRST = 200


@strawberry.input(description="String comparisons (RFC 7644 §3.4.2.2); several are ANDed.")
class StringFilter:
    eq: str | None = None
    ne: str | None = None
    co: str | None = None
    sw: str | None = None
    ew: str | None = None

    def as_ops(self) -> dict[str, str | None]:
        return {"eq": self.eq, "ne": self.ne, "co": self.co, "sw": self.sw, "ew": self.ew}


@strawberry.input(description="Typed group filters, ANDed; `scim` is a raw SCIM filter.")
class GroupFilter:
    display_name: StringFilter | None = None
    external_id: StringFilter | None = None
    member_scim_id: str | None = None
    scim: str | None = strawberry.field(
        default=None, description='A raw SCIM filter, e.g. `displayName sw "Eng"`.'
    )

    def to_spec(self) -> FilterSpec:
        return FilterSpec(
            display_name=self.display_name.as_ops() if self.display_name else None,
            external_id=self.external_id.as_ops() if self.external_id else None,
            member_scim_id=self.member_scim_id,
            scim=self.scim,
        )


@strawberry.input
class CreateGroupInput:
    tenant_id: strawberry.ID
    display_name: str
    external_id: str | None = None
    member_scim_ids: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="A partial change (SCIM PATCH). Omitted fields stay as they are.")
class UpdateGroupInput:
    id: strawberry.ID
    display_name: str | None = None
    external_id: str | None = strawberry.field(
        default=None, description="An empty string removes the externalId."
    )
    if_match: str | None = strawberry.field(
        default=None,
        description="The group's `version`: the change applies only if it still matches.",
    )


@strawberry.input(description="The whole group (SCIM PUT).")
class ReplaceGroupInput:
    id: strawberry.ID
    display_name: str
    external_id: str | None = None
    member_scim_ids: list[str] = strawberry.field(default_factory=list)
    if_match: str | None = None


@strawberry.input
class GroupMembersInput:
    id: strawberry.ID
    member_scim_ids: list[str]
    if_match: str | None = None


@strawberry.input
class DeleteGroupInput:
    id: strawberry.ID
    if_match: str | None = None
