"""GraphQL object types. Leaf fields are plain attributes; only relations are resolvers.

Relations (``Group.members``, ``Member.groups``, ``Tenant.groups`` ...) are async and go through
the request's loaders, so a page of groups with their members and each member's groups costs a
small constant number of upstream requests per tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from datetime import datetime
from functools import partial
from typing import Any, cast

import strawberry
from aiodataloader import DataLoader
from strawberry.types import Info

from app import ids
from app.errors import NotFound
from app.gateway import Tenant as TenantRuntime
from app.loaders import load_each
from app.models import GroupName, GroupRecord, MemberRecord, MemberRef
from app.schema.context import Context
from app.schema.execution import READY
from app.schema.inputs import GroupFilter
from app.schema.selection import below, selected_at, selects_only, wants, wants_only

_MEMBER_DETAILS = frozenset({"loginId"})
_MEMBER_GROUPS = frozenset({"groups"})
_GROUP_NAME = frozenset({"id", "scimId", "displayName", "tenant", "__typename"})
"""A group's fields known from its id and display name alone (``group_from_name``)."""


@strawberry.enum
class Backend(enum.Enum):
    DESCOPE = "descope"
    CONDECO = "condeco"
    SCIM = "scim"


@strawberry.interface(description="An object with a global id, fetchable with Query.node.")
class Node:
    id: strawberry.ID


@strawberry.type(description="One SCIM directory (a tenant on one backend).")
class Tenant:
    id: strawberry.ID
    name: str
    backend: Backend

    @strawberry.field(description="This tenant's groups, in the backend's order.")
    async def groups(
        self,
        info: Info[Context, None],
        filter: GroupFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> GroupConnection | None:
        from app.schema.paging import tenant_groups

        return await tenant_groups(info, self.id, filter, first, after)

    @strawberry.field(description="One group by its SCIM id, or null if there is none.")
    async def group(self, info: Info[Context, None], scim_id: str) -> Group | None:
        return await load_group(info.context, self.id, scim_id)

    @strawberry.field(description="One member by its SCIM id, or null if there is none.")
    async def member(self, info: Info[Context, None], scim_id: str) -> Member | None:
        return await load_member(info.context, self.id, scim_id)


@strawberry.type(description="A SCIM group (RFC 7643 §4.2).")
class Group(Node):
    scim_id: str
    display_name: str
    external_id: str | None
    member_count: int
    created: datetime | None
    last_modified: datetime | None
    version: str | None = strawberry.field(description="The ETag; pass it as ifMatch.")
    tenant_id: strawberry.Private[str]
    refs: strawberry.Private[tuple[MemberRef, ...] | None]

    @strawberry.field
    def tenant(self, info: Info[Context, None]) -> Tenant:
        return tenant_type(info.context.gateway.tenants[self.tenant_id])

    prefetched_members: strawberry.Private[list[Member] | None] = None

    @strawberry.field(graphql_type=list["Member"], metadata={READY: "prefetched_members"})
    def members(self, info: Info[Context, None]) -> Any:
        # A ready list when the page prefetched it (prefetch_members), else a coroutine.
        if self.prefetched_members is not None:
            return self.prefetched_members
        return self._load_members(info)

    async def _load_members(self, info: Info[Context, None]) -> list[Member]:
        ctx = info.context
        refs = self.refs
        if refs is None:  # listed without members: read the whole group once
            refs = (await ctx.loaders[self.tenant_id].groups.load(self.scim_id)).members or ()
        details = wants(info, _MEMBER_DETAILS, depth=0)
        with_groups = wants(info, _MEMBER_GROUPS, depth=0)
        names_only = with_groups and wants_only(info, _GROUP_NAME, ("groups",))
        [members] = await _members_of(
            ctx, self.tenant_id, [refs], details, with_groups, names_only=names_only
        )
        return members


async def prefetch_members(info: Info[Context, None], groups: list[Group]) -> None:
    """Resolve the members of a page's groups here, all at once, when the page's selection
    asks for them (``info`` is the connection field's): each ``Group.members`` then returns a
    ready list, and the whole page can be completed from one compiled plan instead of one
    resolver, one set of futures and one graphql-core completion per group. Best effort: a
    group whose members could not be read is left to its resolver, which reports the error
    at its path (through the same loaders, so nothing is read twice)."""
    wanted = selected_at(info, (("nodes", "members"), ("edges", "node", "members")))
    if not wanted or not groups:
        return
    details = bool(below(wanted, ("loginId",)))
    groups_wanted = below(wanted, ("groups",))
    names_only = all(selects_only(f, _GROUP_NAME) for f in groups_wanted)
    by_tenant: dict[str, list[Group]] = {}
    for group in groups:
        if group.refs is not None:
            by_tenant.setdefault(group.tenant_id, []).append(group)

    async def one(tenant_id: str, ready: list[Group]) -> None:
        with contextlib.suppress(Exception):
            refs = [g.refs or () for g in ready]
            lists = await _members_of(
                info.context, tenant_id, refs, details, bool(groups_wanted), names_only=names_only
            )
            for group, members in zip(ready, lists, strict=True):
                group.prefetched_members = members

    await asyncio.gather(*(one(t, ready) for t, ready in by_tenant.items()))


async def _members_of(
    ctx: Context,
    tenant_id: str,
    refs_per_group: list[tuple[MemberRef, ...]],
    details: bool,
    with_groups: bool,
    *,
    names_only: bool = False,
) -> list[list[Member]]:
    """Each group's members as Member objects: with their details (loginId) when
    ``details``, with their groups prefetched when ``with_groups`` (which may be known by
    name alone when ``names_only``). A member whose details failed (other than not found)
    fails the call."""
    found: dict[str, MemberRecord | None] = {}
    if details:
        values = list(dict.fromkeys(r.value for refs in refs_per_group for r in refs))
        for value, detail in zip(
            values, await load_each(ctx.loaders[tenant_id].members, values), strict=True
        ):
            if isinstance(detail, NotFound):
                detail = None
            elif isinstance(detail, BaseException):
                raise detail
            found[value] = detail
    lists = [
        [member_from_ref(tenant_id, ref, found.get(ref.value)) for ref in refs]
        for refs in refs_per_group
    ]
    if with_groups:
        loader = group_lists(ctx, tenant_id, names_only=names_only)
        await asyncio.gather(*(_prefetch_groups(loader, members) for members in lists))
    return lists


async def _prefetch_groups(
    loader: DataLoader[tuple[str, ...], GroupLists], members: list[Member]
) -> None:
    """Resolve the members' groups here, for all of them at once, so that ``Member.groups``
    returns a ready list instead of one coroutine per member: with thousands of members on a
    page, those coroutines were the largest share of the gateway's CPU. Every group's
    ``members`` runs in the same tick, so the whole page's members share one batch. A member
    whose groups failed is left to ``Member.groups``, which reports the error at its own path."""
    lists = await loader.load(tuple(m.scim_id for m in members))
    for member, groups in zip(members, lists, strict=True):
        if isinstance(groups, list):
            member.prefetched = groups


GroupLists = list[list["Group"] | Exception]
"""Per member asked for, its groups as Group objects, or why they could not be read."""


def group_lists(
    ctx: Context, tenant_id: str, *, names_only: bool
) -> DataLoader[tuple[str, ...], GroupLists]:
    """This request's loader of members' groups as Group objects, for one tenant. A key is a
    tuple of member ids (one group's members): a future per group, not per member. With
    ``names_only`` (the selection asks for nothing but :data:`_GROUP_NAME`), a group the
    membership answer named is not read whole."""
    key = (tenant_id, names_only)
    loader = ctx.group_lists.get(key)
    if loader is None:
        batch = partial(_load_group_lists, ctx, tenant_id, names_only)
        loader = ctx.group_lists[key] = DataLoader(cast(Any, batch))
    return loader


async def _load_group_lists(
    ctx: Context, tenant_id: str, names_only: bool, keys: list[tuple[str, ...]]
) -> list[GroupLists]:
    """One batch for all the members asked for in a tick: their group ids through the
    ``member_groups`` loader, then every group they name at once, each made into a Group once."""
    loaders = ctx.loaders[tenant_id]
    member_ids = list(dict.fromkeys(m for key in keys for m in key))
    per_member = await load_each(loaders.member_groups, member_ids)
    wanted = list(dict.fromkeys(g for ids in per_member if isinstance(ids, list) for g in ids))
    read = loaders.names_by_id if names_only else loaders.groups_by_id
    records = dict(zip(wanted, await read(wanted), strict=True))
    made: dict[str, list[Group] | Exception] = {}
    for member_id, group_ids in zip(member_ids, per_member, strict=True):
        if not isinstance(group_ids, list):
            made[member_id] = group_ids
            continue
        try:
            made[member_id] = group_nodes(ctx, tenant_id, [records[g] for g in group_ids])
        except Exception as exc:
            made[member_id] = exc
    return [[made[m] for m in key] for key in keys]


@strawberry.type(description="A member of groups: a user or, where a backend allows, a group.")
class Member(Node):
    scim_id: str
    display: str | None
    login_id: str | None
    user_id: str | None
    type: str | None
    tenant_id: strawberry.Private[str]
    prefetched: strawberry.Private[list[Group] | None] = None

    @strawberry.field
    def tenant(self, info: Info[Context, None]) -> Tenant:
        return tenant_type(info.context.gateway.tenants[self.tenant_id])

    @strawberry.field(
        description="The groups this member belongs to.",
        graphql_type=list[Group],
        metadata={READY: "prefetched"},
    )
    def groups(self, info: Info[Context, None]) -> Any:
        # Synchronous on purpose: a ready list when Group.members prefetched it, else a
        # coroutine graphql-core awaits (a sync resolver costs nothing when data is there).
        if self.prefetched is not None:
            return self.prefetched
        return self._load_groups(info)

    async def _load_groups(self, info: Info[Context, None]) -> list[Group]:
        names_only = wants_only(info, _GROUP_NAME)
        loader = group_lists(info.context, self.tenant_id, names_only=names_only)
        [groups] = await loader.load((self.scim_id,))
        if isinstance(groups, Exception):
            raise groups
        return groups


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class GroupEdge:
    cursor: str
    node: Group


@strawberry.type
class GroupConnection:
    edges: list[GroupEdge]
    nodes: list[Group]
    page_info: PageInfo
    total_count: int


def tenant_type(tenant: TenantRuntime) -> Tenant:
    return Tenant(id=strawberry.ID(tenant.id), name=tenant.name, backend=Backend(tenant.kind.value))


def group_from_record(tenant_id: str, record: GroupRecord) -> Group:
    return Group(
        id=strawberry.ID(ids.encode_id("Group", tenant_id, record.id)),
        scim_id=record.id,
        display_name=record.display_name,
        external_id=record.external_id,
        member_count=len(record.members or ()),
        created=record.created,
        last_modified=record.last_modified,
        version=record.version,
        tenant_id=tenant_id,
        refs=record.members,
    )


def group_node(ctx: Context, tenant_id: str, record: GroupRecord | GroupName) -> Group:
    """``group_from_record`` (or ``group_from_name``), made once per record and request: a
    page of members' groups names the same few hundred groups thousands of times."""
    key = (tenant_id, record.id)
    held = ctx.nodes.get(key)
    if held is None or held[0] is not record:  # a write since replaced the record
        made = (
            group_from_record(tenant_id, record)
            if isinstance(record, GroupRecord)
            else group_from_name(tenant_id, record)
        )
        held = ctx.nodes[key] = (record, made)
    node: Group = held[1]
    return node


def group_from_name(tenant_id: str, name: GroupName) -> Group:
    """A Group for a selection of :data:`_GROUP_NAME` only: its other fields are unknown, so
    it must never be completed for any other selection (``group_lists`` keeps them apart)."""
    return Group(
        id=strawberry.ID(ids.encode_id("Group", tenant_id, name.id)),
        scim_id=name.id,
        display_name=name.display_name,
        external_id=None,
        member_count=0,
        created=None,
        last_modified=None,
        version=None,
        tenant_id=tenant_id,
        refs=None,
    )


def group_nodes(
    ctx: Context, tenant_id: str, records: list[GroupRecord | GroupName | Exception]
) -> list[Group]:
    """A member's groups: a group deleted between the two reads is left out; any other
    failure is raised. Each is made once per record (or name) and request."""
    out = []
    for record in records:
        if isinstance(record, NotFound):
            continue
        if isinstance(record, BaseException):
            raise record
        out.append(group_node(ctx, tenant_id, record))
    return out


def member_from_ref(tenant_id: str, ref: MemberRef, detail: MemberRecord | None) -> Member:
    return Member(
        id=strawberry.ID(ids.encode_id("Member", tenant_id, ref.value)),
        scim_id=ref.value,
        display=(detail.display if detail and detail.display else ref.display),
        login_id=detail.login_id if detail else None,
        # A SCIM member's value is the user's id on every backend we speak (RFC 7643 §4.2).
        user_id=(detail.user_id if detail and detail.user_id else ref.value),
        type=ref.type or (detail.type if detail else None),
        tenant_id=tenant_id,
    )


def member_from_record(tenant_id: str, record: MemberRecord) -> Member:
    return member_from_ref(tenant_id, MemberRef(record.id, record.display, record.type), record)


async def load_group(ctx: Context, tenant_id: str, scim_id: str) -> Group | None:
    """A group through the loader; ``None`` when the tenant or the group is not there."""
    ids.check_scim_id(scim_id)
    if ctx.find_tenant(tenant_id) is None:
        return None
    try:
        record = await ctx.loaders[tenant_id].groups.load(scim_id)
    except NotFound:
        return None
    return group_from_record(tenant_id, record)


async def load_member(ctx: Context, tenant_id: str, scim_id: str) -> Member | None:
    ids.check_scim_id(scim_id)
    if ctx.find_tenant(tenant_id) is None:
        return None
    try:
        record = await ctx.loaders[tenant_id].members.load(scim_id)
    except NotFound:
        return None
    return member_from_record(tenant_id, record)
