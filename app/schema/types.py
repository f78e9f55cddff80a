"""GraphQL object types. Leaf fields are plain attributes; only relations are resolvers.

Relations (``Group.members``, ``Member.groups``, ``Tenant.groups`` ...) are async and go through
the request's loaders, so a page of groups with their members and each member's groups costs a
small constant number of upstream requests per tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from itertools import chain
from typing import Any, Final

import strawberry
from strawberry.types import Info

from app import ids
from app.errors import NotFound
from app.gateway import Tenant as TenantRuntime
from app.loaders import ManyLoader
from app.models import GroupName, GroupRecord, MemberRecord, MemberRef
from app.schema.context import Context
from app.schema.execution import READY
from app.schema.inputs import DEFAULT_FIRST, GroupFilter
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
        first: int | None = DEFAULT_FIRST,
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


_PAGE_MEMBERS: Final = (("nodes", "members"), ("edges", "node", "members"))


def expect_members_groups(info: Info[Context, None], tenant_ids: Iterable[str]) -> None:
    """Before a page is read (``info`` is the connection field's): when its members' groups
    are selected, let each tenant's backend read the whole tenant's membership alongside the
    page, where it is small enough (``TenantLoaders.expect_membership``)."""
    if below(selected_at(info, _PAGE_MEMBERS), ("groups",)):
        for tenant_id in tenant_ids:
            info.context.loaders[tenant_id].expect_membership()


async def prefetch_members(info: Info[Context, None], groups: list[Group]) -> None:
    """Resolve the members of a page's groups here, all at once, when the page's selection
    asks for them (``info`` is the connection field's): each ``Group.members`` then returns a
    ready list, and the whole page can be completed from one compiled plan instead of one
    resolver, one set of futures and one graphql-core completion per group. Best effort: a
    group whose members could not be read is left to its resolver, which reports the error
    at its path (through the same loaders, so nothing is read twice)."""
    wanted = selected_at(info, _PAGE_MEMBERS)
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
    fails the call.

    Both reads are asked for before anything else, concurrently, and the Member objects are
    made while they are on the wire: on a page of ~1,000 members that work would otherwise
    add to the answer's latency."""
    values = list(dict.fromkeys(r.value for refs in refs_per_group for r in refs))
    groups_of: asyncio.Future[list[list[Group] | Exception]] | None = None
    details_of: asyncio.Future[list[MemberRecord | Exception]] | None = None
    if with_groups:
        loader = group_lists(ctx, tenant_id, names_only=names_only)
        groups_of = asyncio.ensure_future(loader.load_many(values))
    if details:
        details_of = asyncio.ensure_future(ctx.loaders[tenant_id].members.load_many(values))
    try:
        if groups_of is not None or details_of is not None:
            await _let_requests_out()
        made: dict[MemberRef, Member] = {}  # one object per entry, however many groups list it
        found: dict[str, MemberRecord | None] = {}
        if details_of is not None:
            for value, detail in zip(values, await details_of, strict=True):
                if isinstance(detail, NotFound):
                    found[value] = None
                elif isinstance(detail, Exception):
                    raise detail
                else:
                    found[value] = detail

        def member(ref: MemberRef) -> Member:
            held = made.get(ref)
            if held is None:
                held = made[ref] = member_from_ref(tenant_id, ref, found.get(ref.value))
            return held

        lists = [[member(ref) for ref in refs] for refs in refs_per_group]
        if groups_of is not None:
            by_member = dict(zip(values, await groups_of, strict=True))
            for made_member in made.values():
                groups = by_member[made_member.scim_id]
                if isinstance(groups, list):  # else Member.groups reports it at its path
                    made_member.prefetched = groups
        return lists
    finally:
        for pending in (groups_of, details_of):
            if pending is not None and not pending.done():
                pending.cancel()


_TICKS_TO_THE_WIRE: Final = 12
"""Event-loop turns a read just asked for takes to reach the socket: with the demo backends,
the loaders' dispatch and batch tasks and the adapter reach httpx's send in 5-6, and httpcore's
pool and the write take a few more. Too few only costs the overlap, never correctness."""


async def _let_requests_out() -> None:
    """Let reads just asked for reach the wire before spending CPU on anything else."""
    for _ in range(_TICKS_TO_THE_WIRE):
        await asyncio.sleep(0)


def group_lists(ctx: Context, tenant_id: str, *, names_only: bool) -> ManyLoader[str, list[Group]]:
    """This request's loader of members' groups as Group objects, by member id, for one
    tenant. With ``names_only`` (the selection asks for nothing but :data:`_GROUP_NAME`), a
    group the membership answer named is not read whole."""
    key = (tenant_id, names_only)
    loader = ctx.group_lists.get(key)
    if loader is None:
        loader = ctx.group_lists[key] = ManyLoader(
            partial(_load_group_lists, ctx, tenant_id, names_only)
        )
    return loader


async def _load_group_lists(
    ctx: Context, tenant_id: str, names_only: bool, member_ids: list[str]
) -> list[list[Group] | Exception]:
    """One batch for all the members asked for in a tick: their group ids through the
    ``member_groups`` loader, then every group they name at once, each made into a Group once
    (a page's ~500 members name the same ~200 groups ~3,500 times)."""
    loaders = ctx.loaders[tenant_id]
    per_member = await loaders.member_groups.load_many(member_ids)
    listed = (group_ids for group_ids in per_member if isinstance(group_ids, list))
    wanted = list(dict.fromkeys(chain.from_iterable(listed)))
    read = loaders.names_by_id if names_only else loaders.groups.load_many
    nodes: dict[str, Group] = {}
    failed: dict[str, Exception] = {}  # a NotFound was deleted between the two reads
    for group_id, record in zip(wanted, await read(wanted), strict=True):
        if isinstance(record, Exception):
            failed[group_id] = record
        else:
            nodes[group_id] = group_node(ctx, tenant_id, record)
    made: list[list[Group] | Exception] = []
    for group_ids in per_member:
        if not isinstance(group_ids, list):
            made.append(group_ids)
        elif not failed:
            made.append([nodes[g] for g in group_ids])
        else:
            made.append(_groups_in(group_ids, nodes, failed))
    return made


def _groups_in(
    group_ids: list[str], nodes: dict[str, Group], failed: dict[str, Exception]
) -> list[Group] | Exception:
    """A member's groups, less those deleted meanwhile; or the first group's failure."""
    out = []
    for group_id in group_ids:
        error = failed.get(group_id)
        if error is None:
            out.append(nodes[group_id])
        elif not isinstance(error, NotFound):
            return error
    return out


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
        return await group_lists(info.context, self.tenant_id, names_only=names_only).load(
            self.scim_id
        )


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


_new: Final = object.__new__
"""Group and Member objects are made by the hundred per page (~1,000 members, ~200 of their
groups): filling a new object's ``__dict__`` costs ~0.5 us less than the dataclass
``__init__`` with keywords. The dicts name every field of the type, in its order: a test
checks them against the type's fields and against objects made the ordinary way."""


def group_from_record(tenant_id: str, record: GroupRecord) -> Group:
    group = _new(Group)
    group.__dict__.update(
        id=ids.encode_id("Group", tenant_id, record.id),
        scim_id=record.id,
        display_name=record.display_name,
        external_id=record.external_id,
        member_count=len(record.members or ()),
        created=record.created,
        last_modified=record.last_modified,
        version=record.version,
        tenant_id=tenant_id,
        refs=record.members,
        prefetched_members=None,
    )
    return group


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
    group = _new(Group)
    group.__dict__.update(
        id=ids.encode_id("Group", tenant_id, name.id),
        scim_id=name.id,
        display_name=name.display_name,
        external_id=None,
        member_count=0,
        created=None,
        last_modified=None,
        version=None,
        tenant_id=tenant_id,
        refs=None,
        prefetched_members=None,
    )
    return group


def member_from_ref(tenant_id: str, ref: MemberRef, detail: MemberRecord | None) -> Member:
    value = ref.value
    member = _new(Member)
    member.__dict__.update(
        id=ids.encode_id("Member", tenant_id, value),
        scim_id=value,
        display=(detail.display if detail and detail.display else ref.display),
        login_id=detail.login_id if detail else None,
        # A SCIM member's value is the user's id on every backend we speak (RFC 7643 §4.2).
        user_id=(detail.user_id if detail and detail.user_id else value),
        type=ref.type or (detail.type if detail else None),
        tenant_id=tenant_id,
        prefetched=None,
    )
    return member


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
