"""Group connections: one tenant's pages, and all readable tenants merged by displayName.

A tenant cursor is the 0-based position of an edge within that tenant's (filtered) list; the
next page starts at ``startIndex = position + 2`` (RFC 7644 §3.4.2.4 is 1-based). A merged
cursor remembers every tenant's position, so each page costs one search per tenant, run
concurrently, and a failing tenant keeps its position and is reported by name.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.types import Info

from app import ids
from app.errors import BadUserInput, GatewayError
from app.filters import compile_filter
from app.gateway import Tenant as TenantRuntime
from app.models import GroupRecord
from app.schema.context import Context
from app.schema.inputs import DEFAULT_FIRST, MAX_FIRST, GroupFilter
from app.schema.selection import wants
from app.schema.types import (
    GroupConnection,
    GroupEdge,
    PageInfo,
    expect_members_groups,
    group_from_record,
    prefetch_members,
)

_NEEDS_MEMBERS = frozenset({"members", "memberCount"})


def _check_first(first: int | None) -> int:
    if first is None:
        return DEFAULT_FIRST
    if not 0 <= first <= MAX_FIRST:
        raise BadUserInput(f"first must be between 0 and {MAX_FIRST}")
    return first


@dataclass(slots=True)
class _Slice:
    records: list[GroupRecord]
    total: int


async def _read(
    tenant: TenantRuntime, scim_filter: str | None, offset: int, first: int, members: bool
) -> _Slice:
    """Up to ``first`` groups from position ``offset``, paging past servers' page caps."""
    records: list[GroupRecord] = []
    total = 0
    while True:
        page = await tenant.backend.search_groups(
            scim_filter, offset + len(records) + 1, first - len(records), include_members=members
        )
        total = page.total_results
        records.extend(page.groups)
        if not page.groups or len(records) >= first or offset + len(records) >= total:
            return _Slice(records[:first], total)


async def _page(
    ctx: Context,
    tenant: TenantRuntime,
    scim_filter: str | None,
    offset: int,
    first: int,
    members: bool,
    *,
    among_others: bool = False,
) -> _Slice:
    """A tenant's page of ``first`` groups from ``offset``. Where the read of the tenant's
    membership that went out for it (``expect_members_groups``) is one listing of the whole
    tenant, an unfiltered page is cut from it: the same groups in the same order, for one
    request and one upstream service time fewer. Otherwise the page is read (:func:`_read`),
    after much slower tenants' reads of the request (``among_others``: the tenant is one of
    a list, whose later items have not asked yet; see ``TenantLoaders.before_page_read``)."""
    loaders = ctx.loaders[tenant.id]
    if members and scim_filter is None:
        records = await loaders.whole_listing()
        if records is not None:
            return _Slice(list(records[offset : offset + first]), len(records))
    await loaders.before_page_read(among_others)
    return await _read(tenant, scim_filter, offset, first, members)


def _tenant_cursor(tenant_id: str, position: int) -> str:
    return ids.encode_cursor(f"t:{tenant_id}:{position}")


def _tenant_offset(tenant_id: str, after: str | None) -> int:
    if after is None:
        return 0
    kind, _, rest = ids.decode_cursor(after).partition(":")
    owner, _, position = rest.rpartition(":")
    if kind != "t" or owner != tenant_id or not position.isdigit():
        raise BadUserInput("invalid cursor for this tenant's groups")
    return int(position) + 1


async def tenant_groups(
    info: Info[Context, None],
    tenant_id: str,
    group_filter: GroupFilter | None,
    first: int | None,
    after: str | None,
) -> GroupConnection:
    ctx = info.context
    tenant = ctx.tenant(tenant_id)
    first = _check_first(first)
    offset = _tenant_offset(tenant_id, after)
    scim_filter = compile_filter(group_filter.to_spec() if group_filter else None)
    members = wants(info, _NEEDS_MEMBERS)
    if first == 0:
        page = await tenant.backend.search_groups(scim_filter, 1, 0, include_members=False)
        chunk = _Slice([], page.total_results)
    else:
        if members:
            expect_members_groups(info, [tenant_id])
        in_list = info.path.prev is not None and isinstance(info.path.prev.key, int)
        chunk = await _page(ctx, tenant, scim_filter, offset, first, members, among_others=in_list)
    ctx.loaders[tenant_id].prime_groups(chunk.records)
    edges = [
        GroupEdge(
            cursor=_tenant_cursor(tenant_id, offset + i), node=group_from_record(tenant_id, r)
        )
        for i, r in enumerate(chunk.records)
    ]
    if members:
        await prefetch_members(info, [e.node for e in edges])
    return _connection(edges, offset + len(edges) < chunk.total, offset > 0, chunk.total)


def _connection(
    edges: list[GroupEdge], has_next: bool, has_prev: bool, total: int
) -> GroupConnection:
    return GroupConnection(
        edges=edges,
        nodes=[e.node for e in edges],
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_prev,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )


def _merged_cursor(positions: dict[str, int]) -> str:
    return ids.encode_cursor("m:" + json.dumps(positions, separators=(",", ":"), sort_keys=True))


def _merged_positions(after: str | None, readable: set[str]) -> dict[str, int]:
    if after is None:
        return {}
    text = ids.decode_cursor(after)
    try:
        if not text.startswith("m:"):
            raise ValueError
        raw = json.loads(text[2:])
        if not isinstance(raw, dict) or not all(
            isinstance(k, str) and type(v) is int and v >= 0 for k, v in raw.items()
        ):
            raise ValueError
    except ValueError as exc:
        raise BadUserInput("invalid cursor for merged groups") from exc
    if not set(raw) <= readable:  # a cursor made with another key's tenants
        raise BadUserInput("invalid cursor for merged groups")
    return raw


def _sort_key(tenant_id: str, record: GroupRecord) -> tuple[str, str, str]:
    return (record.display_name.casefold(), tenant_id, record.id)


async def merged_groups(
    info: Info[Context, None],
    group_filter: GroupFilter | None,
    first: int | None,
    after: str | None,
) -> GroupConnection:
    ctx = info.context
    tenants = ctx.readable_tenants()
    first = _check_first(first)
    positions = _merged_positions(after, {t.id for t in tenants})
    scim_filter = compile_filter(group_filter.to_spec() if group_filter else None)
    members = wants(info, _NEEDS_MEMBERS)
    fetch = max(first, 1)
    if members and first:
        expect_members_groups(info, [t.id for t in tenants])
    results = await asyncio.gather(
        *(_page(ctx, t, scim_filter, positions.get(t.id, 0), fetch, members) for t in tenants),
        return_exceptions=True,
    )
    slices: dict[str, _Slice] = {}
    for tenant, result in zip(tenants, results, strict=True):
        if isinstance(result, GatewayError):
            result.for_tenant(tenant.id)
            ctx.partial_errors.append(
                GraphQLError(
                    f"tenant {tenant.id!r}: {result.message}",
                    path=[info.path.key],
                    original_error=result,
                )
            )
        elif isinstance(result, BaseException):
            raise result
        else:
            slices[tenant.id] = result
            ctx.loaders[tenant.id].prime_groups(result.records)

    pos = dict(positions)
    taken = dict.fromkeys(slices, 0)
    edges: list[GroupEdge] = []
    while len(edges) < first:
        best: tuple[tuple[str, str, str], str] | None = None
        blocked = False
        for tid, sl in slices.items():
            i = taken[tid]
            if i < len(sl.records):
                key = _sort_key(tid, sl.records[i])
                if best is None or key < best[0]:
                    best = (key, tid)
            elif positions.get(tid, 0) + i < sl.total:
                blocked = True  # this tenant has more we have not read: cannot order past it
        if best is None or blocked:
            break
        tid = best[1]
        record = slices[tid].records[taken[tid]]
        taken[tid] += 1
        pos[tid] = positions.get(tid, 0) + taken[tid]
        edges.append(GroupEdge(cursor=_merged_cursor(pos), node=group_from_record(tid, record)))
    if members:
        await prefetch_members(info, [e.node for e in edges])
    has_next = any(pos.get(tid, 0) < sl.total for tid, sl in slices.items())
    total = sum(sl.total for sl in slices.values())
    return _connection(edges, has_next, bool(positions), total)


__all__ = ["MAX_FIRST", "merged_groups", "tenant_groups"]
