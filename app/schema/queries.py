"""Root query fields."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app import ids
from app.schema.context import Context
from app.schema.inputs import DEFAULT_FIRST, GroupFilter
from app.schema.paging import merged_groups
from app.schema.types import (
    GroupConnection,
    Node,
    Tenant,
    load_group,
    load_member,
    tenant_type,
)


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id; null if it is not there for you.")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        gid = ids.decode_id(id)
        if gid.kind == "Group":
            return await load_group(info.context, gid.tenant, gid.scim_id)
        return await load_member(info.context, gid.tenant, gid.scim_id)

    @strawberry.field(description="The tenants this key may read.")
    def tenants(self, info: Info[Context, None]) -> list[Tenant]:
        return [tenant_type(t) for t in info.context.readable_tenants()]

    @strawberry.field
    def tenant(self, info: Info[Context, None], id: strawberry.ID) -> Tenant | None:
        tenant = info.context.find_tenant(id)
        return tenant_type(tenant) if tenant else None

    @strawberry.field(
        description="Groups of all readable tenants, merged by displayName. A failing tenant "
        "is left out with an error naming it; the others' groups are still returned."
    )
    async def groups(
        self,
        info: Info[Context, None],
        filter: GroupFilter | None = None,
        first: int | None = DEFAULT_FIRST,
        after: str | None = None,
    ) -> GroupConnection:
        return await merged_groups(info, filter, first, after)
