"""Any RFC 7644 server: the generic adapter, and the base the Descope and Condeco adapters extend.

The client's ``base_url`` is the tenant's SCIM base (``https://host/v2``); paths are relative.
Subclasses change the paths (:attr:`groups_path`, :attr:`users_path`), the credentials
(:meth:`_auth_headers`) and whatever their directory answers differently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, TypedDict, TypeVar, Unpack
from urllib.parse import quote

import httpx

from app.adapters import scimwire as wire
from app.adapters.http import Decoder, Upstream
from app.adapters.unchanged import LastAnswer, LastAnswers
from app.errors import GatewayError, NotFound, UpstreamError
from app.models import (
    BackendKind,
    Capabilities,
    GroupDraft,
    GroupPage,
    GroupPatch,
    GroupRecord,
    MemberRecord,
    Membership,
    TenantMembership,
)
from app.resilience import Resilience

# Answers that mean "this server has no POST /.search" (RFC 7644 §3.4.3 makes it optional).
_NO_SEARCH_ENDPOINT = frozenset({404, 405, 501})

T = TypeVar("T")


class SendOptions(TypedDict, total=False):
    """What a request may carry besides its credentials (see ``ScimAdapter._send_as``)."""

    params: Mapping[str, str | int] | None
    json: Any
    if_match: str | None
    idempotent: bool | None
    decode: Decoder | None


PAGES_AHEAD = 4
"""Pages of one listing asked for at once, after the first one."""

SCAN_PAGE = 200
"""The most groups per request a scan is priced at (``_scan_is_cheaper``), whatever larger
page the server allows: reading a tenant whole must save requests at this rate or better to
be worth the groups nobody asked for (with a 1,000-group page, a batch of 60 ids would
otherwise read 1,000 groups to save one request)."""

SMALL_TENANT_GROUPS = 200
"""By default, a tenant of at most this many groups (as last listed) is read whole, in one
request, alongside a page whose members' groups are selected: the one round trip that would
otherwise follow the page's. 200 is Condeco's page; such an answer is a few hundred KB. A
tenant's ``whole_tenant_reads_up_to`` setting replaces it (0 turns it off)."""


class ScimAdapter:
    """Groups and users of one tenant on an RFC 7644 server."""

    kind: BackendKind = BackendKind.SCIM
    groups_path = "Groups"
    users_path = "Users"
    # RFC 7644 §3.1 names application/scim+json; vendors document application/json.
    content_type = "application/scim+json"
    # Whether POST Groups/.search works: None until tried (RFC 7644 §3.4.3 makes it optional).
    post_search: bool | None = None

    def __init__(
        self,
        tenant_id: str,
        client: httpx.AsyncClient,
        token: str | None = None,
        *,
        resilience: Resilience | None = None,
        whole_tenant_groups: int = SMALL_TENANT_GROUPS,
    ) -> None:
        self.tenant_id = tenant_id
        # Up to how many groups (at the last listing) a page reads the whole tenant's
        # membership alongside it (tenant_membership); 0: never.
        self._whole_tenant_groups = whole_tenant_groups
        self._upstream = Upstream(tenant_id, client, resilience)
        self._static_token = token
        self._capabilities: Capabilities | None = None
        self._capabilities_lock = asyncio.Lock()
        # How many groups the tenant held at the last unfiltered search: a size hint (never
        # data) that lets a large batch read every group in a few pages instead of many
        # or-filter chunks when that is cheaper.
        self._group_count_hint: int | None = None
        # The whole tenant's listing, decoded and indexed once for as long as it comes back
        # the same (tenant_membership).
        self._whole_listing = LastAnswer(wire.decode_groups)
        # The last few pages read on their own (search_groups), by what was asked.
        self._pages: LastAnswers[Any] = LastAnswers(wire.decode_groups)

    # -- the send step ---------------------------------------------------------------------

    async def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._static_token}"} if self._static_token else {}

    async def _send(self, method: str, url: str, **options: Unpack[SendOptions]) -> Any:
        auth = await self._auth_headers()
        return await self._send_as(auth, method, url, **options)

    async def _send_as(
        self,
        auth: Mapping[str, str],
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        if_match: str | None = None,
        idempotent: bool | None = None,
        decode: Decoder | None = None,
    ) -> Any:
        """One request with the given credentials, through the one translating send step;
        ``idempotent=True`` marks a POST that only reads, so it may be retried."""
        headers = {**auth}
        if json is not None:
            headers["Content-Type"] = self.content_type
        if if_match is not None:
            headers["If-Match"] = if_match  # RFC 7644 §3.14
        return await self._upstream.send(
            method,
            url,
            headers=headers,
            params=params,
            json=json,
            idempotent=idempotent,
            decode=decode,
        )

    @contextmanager
    def _wire(self, what: str) -> Iterator[None]:
        """Report a 2xx answer of the wrong shape as the upstream's fault."""
        try:
            yield
        except wire.WireError as exc:
            raise UpstreamError(
                f"upstream sent an invalid {what}: {exc}", tenant=self.tenant_id
            ) from exc

    # -- capabilities ----------------------------------------------------------------------

    async def capabilities(self) -> Capabilities:
        """``GET ServiceProviderConfig`` once (RFC 7643 §5); defaults when the server has none."""
        async with self._capabilities_lock:
            if self._capabilities is None:
                self._capabilities = await self._read_capabilities()
            return self._capabilities

    async def _read_capabilities(self) -> Capabilities:
        try:
            data = await self._send("GET", "ServiceProviderConfig")
        except NotFound:
            return Capabilities()
        with self._wire("ServiceProviderConfig"):
            return wire.parse_service_provider_config(data)

    # -- reads -----------------------------------------------------------------------------

    async def _list_page(
        self,
        path: str,
        scim_filter: str | None,
        start_index: int,
        count: int,
        *,
        include_members: bool = True,
        post: bool = False,
        decode: Decoder | None = None,
    ) -> Any:
        """One ListResponse: ``GET path?filter=`` (§3.4.2) or ``POST path/.search`` (§3.4.3).
        A list of groups is decoded straight into group structs (:func:`wire.decode_groups`,
        unless ``decode`` says otherwise)."""
        groups = path == self.groups_path
        sort = groups and (await self.capabilities()).sort
        if decode is None and groups:
            decode = wire.decode_groups
        if post:
            body = wire.search_body(scim_filter or "", start_index, count)
            if not include_members:
                body["excludedAttributes"] = ["members"]
            if sort:
                body["sortBy"] = "displayName"
            return await self._send(
                "POST", f"{path}/.search", json=body, idempotent=True, decode=decode
            )
        params: dict[str, str | int] = {"startIndex": start_index, "count": count}
        if scim_filter:
            params["filter"] = scim_filter
        if not include_members:
            params["excludedAttributes"] = "members"
        if sort:
            params["sortBy"] = "displayName"
        return await self._send("GET", path, params=params, decode=decode)

    async def _list_all(
        self, path: str, scim_filter: str, *, include_members: bool = True, post: bool = False
    ) -> list[Any]:
        """Every resource matching a filter, advancing by what each page actually held.

        The first page tells the total and the page size the server really serves; the next
        pages are then asked for up to :data:`PAGES_AHEAD` at a time, concurrently (one round
        trip instead of one per page). A short page makes the next window start right after
        it; an empty page ends the reading, whatever the total says.
        """
        count = (await self.capabilities()).max_page_size

        async def page_at(start: int) -> tuple[list[Any], Any]:
            data = await self._list_page(
                path, scim_filter, start, count, include_members=include_members, post=post
            )
            with self._wire("list response"):
                return wire.list_resources(data), data.get("totalResults", 0)

        found, total = await page_at(1)
        size = len(found)
        while found and isinstance(total, int) and len(found) < total:
            starts = range(1 + len(found), total + 1, size)[:PAGES_AHEAD]
            for page, _ in await asyncio.gather(*(page_at(start) for start in starts)):
                if not page:
                    return found
                found.extend(page)
                if len(page) < size:
                    break
        return found

    async def search_groups(
        self,
        scim_filter: str | None,
        start_index: int,
        count: int,
        *,
        include_members: bool = True,
    ) -> GroupPage:
        """One page of groups (RFC 7644 §3.4.2): one request. The page is made again only
        when its answer's bytes differ from the last time (:mod:`.unchanged`)."""
        keeper = self._pages[scim_filter, start_index, count, include_members]
        data = await self._list_page(
            self.groups_path,
            scim_filter,
            start_index,
            count,
            include_members=include_members,
            decode=keeper,
        )
        with self._wire("group list"):
            page = keeper.then(
                data,
                partial(
                    wire.parse_list, start_index=start_index, members_excluded=not include_members
                ),
            )
        if not scim_filter:
            self._group_count_hint = page.total_results
        return page

    async def _scan_is_cheaper(self, keys: int) -> bool:
        """Whether reading every group costs fewer requests than ``or`` chunks for ``keys``,
        pages priced at no more than :data:`SCAN_PAGE` groups."""
        if self._group_count_hint is None:
            return False
        caps = await self.capabilities()
        pages = max(1, -(-self._group_count_hint // min(caps.max_page_size, SCAN_PAGE)))
        chunks = -(-keys // caps.max_filter_terms)
        return pages < chunks

    def _small_tenant(self) -> bool:
        """Whether the tenant, as last listed, may be read whole alongside a page."""
        hint = self._group_count_hint
        return hint is not None and hint <= self._whole_tenant_groups

    def lists_whole_tenant(self) -> bool:
        """Whether :meth:`tenant_membership` would read the tenant now, as one listing: the
        tenant is small, and its last known size fits the server's page."""
        caps, hint = self._capabilities, self._group_count_hint
        if caps is None or hint is None:
            return False
        return self._small_tenant() and hint <= caps.max_page_size

    async def tenant_membership(self) -> TenantMembership | None:
        """The whole tenant's groups in one listing, when its last known size fits one page;
        ``None`` otherwise. Sent alongside a page, it answers the page's members' groups in
        the page's round trip, where a ``.search`` of them (or ``or`` chunks, or that same
        scan, without ``.search``) would take one more, and it is never more requests than
        those: one. One page only: a tenant that has grown past it since (its
        ``totalResults`` says so) is not read on; its members are asked for by id."""
        if not self._small_tenant():
            return None
        count = (await self.capabilities()).max_page_size
        if not self.lists_whole_tenant():  # one rule, now that the capabilities are known
            return None
        data = await self._list_page(self.groups_path, None, 1, count, decode=self._whole_listing)
        with self._wire("group list"):
            page, membership = self._whole_listing.then(data, _whole_membership)
        self._group_count_hint = page.total_results  # as search_groups does
        if len(page.groups) < page.total_results:
            return None
        return membership

    async def _all_groups(self) -> list[GroupRecord]:
        """Every group of the tenant, page by page."""
        items = await self._list_all(self.groups_path, "")
        with self._wire("group"):
            records = [wire.parse_group(item) for item in items]
        self._group_count_hint = len(records)
        return records

    async def _get_group(self, group_id: str) -> GroupRecord:
        data = await self._send("GET", self._group_url(group_id))
        with self._wire("group"):
            return wire.parse_group(data)

    async def _groups_by_id(self, ids: Sequence[str]) -> dict[str, GroupRecord]:
        if len(ids) == 1:
            try:
                return {ids[0]: await self._get_group(ids[0])}
            except NotFound:
                return {}
        items = await self._list_all(self.groups_path, wire.or_filter("id", ids))
        with self._wire("group"):
            return {g.id: g for g in map(wire.parse_group, items)}

    async def get_groups(self, ids: Sequence[str]) -> list[GroupRecord | Exception]:
        """Groups by id: one ``id eq .. or ..`` filter per chunk of ``max_filter_terms`` ids,
        chunks sent concurrently, each paged until read; a chunk of one is ``GET Groups/{id}``."""
        if await self._scan_is_cheaper(len(wire.unique(ids))):
            by_id = {g.id: g for g in await self._all_groups()}
            return [by_id.get(i) or self._not_found("group", i) for i in ids]
        return await self._batch(ids, self._groups_by_id, "group")

    def _not_found(self, noun: str, key: str) -> NotFound:
        return NotFound(f"{noun} {key!r} not found", tenant=self.tenant_id)

    async def _batch(
        self,
        keys: Sequence[str],
        fetch: Callable[[Sequence[str]], Awaitable[Mapping[str, T]]],
        noun: str,
    ) -> list[T | Exception]:
        """Run ``fetch`` over chunks of unique keys concurrently; one result per key, in order.

        A failed chunk fails only its own keys; a key no chunk returned is :class:`NotFound`.
        """
        size = (await self.capabilities()).max_filter_terms
        parts = list(wire.chunks(wire.unique(keys), size))
        answers: list[Mapping[str, T] | BaseException]
        if len(parts) == 1:  # no task to gather (a node(id:) is one key)
            try:
                answers = [await fetch(parts[0])]
            except GatewayError as exc:
                answers = [exc]
        else:
            answers = await asyncio.gather(*(fetch(p) for p in parts), return_exceptions=True)
        found: dict[str, T | Exception] = {}
        for part, answer in zip(parts, answers, strict=True):
            if isinstance(answer, GatewayError):
                found.update(dict.fromkeys(part, answer))
            elif isinstance(answer, BaseException):
                raise answer
            else:
                found.update(answer)
        return [found[key] if key in found else self._not_found(noun, key) for key in keys]

    async def groups_of_members(self, member_ids: Sequence[str]) -> Membership:
        """Groups whose ``members eq`` one of the ids: ONE ``POST Groups/.search`` (no URL length
        limit, RFC 7644 §3.4.3) paged if needed; where the server has no ``.search``, chunked
        GETs sent concurrently. The full groups come back as ``records``."""
        ids = wire.unique(member_ids)
        if not ids:
            return Membership(group_ids=[])
        if self.post_search is not False:
            try:
                items = await self._list_all(
                    self.groups_path, wire.or_filter("members", ids), post=True
                )
            except GatewayError as exc:
                if exc.status not in _NO_SEARCH_ENDPOINT:
                    return Membership(group_ids=[exc for _ in member_ids])
                self.post_search = False
            else:
                self.post_search = True
                with self._wire("group"):
                    records = [wire.parse_group(item) for item in items]
                by_member = wire.groups_by_member(ids, records)
                return Membership([by_member[m] for m in member_ids], records)
        return await self._groups_of_members_by_get(member_ids)

    async def _groups_of_members_by_get(self, member_ids: Sequence[str]) -> Membership:
        if await self._scan_is_cheaper(len(wire.unique(member_ids))):
            every = await self._all_groups()
            by_member = wire.groups_by_member(wire.unique(member_ids), every)
            return Membership([by_member[m] for m in member_ids], every)
        records: dict[str, GroupRecord] = {}

        async def fetch(part: Sequence[str]) -> dict[str, list[str]]:
            items = await self._list_all(self.groups_path, wire.or_filter("members", part))
            with self._wire("group"):
                groups = [wire.parse_group(item) for item in items]
            records.update((g.id, g) for g in groups)
            return wire.groups_by_member(part, groups)

        group_ids = await self._batch(member_ids, fetch, "member")
        return Membership(group_ids, list(records.values()))

    async def _users_by_id(self, ids: Sequence[str]) -> dict[str, MemberRecord]:
        items = await self._list_all(self.users_path, wire.or_filter("id", ids))
        with self._wire("user"):
            return {u.id: u for u in map(wire.parse_user, items)}

    async def get_members(self, member_ids: Sequence[str]) -> list[MemberRecord | Exception]:
        """Users by id (RFC 7643 §4.1): ``Users?filter=id eq .. or ..`` per chunk, concurrently."""
        return await self._batch(member_ids, self._users_by_id, "member")

    async def _members_from_groups(
        self, member_ids: Sequence[str]
    ) -> list[MemberRecord | Exception]:
        """Members as the groups that list them describe them (``members eq`` filters, chunked):
        for directories without a users endpoint. A member no group lists is not found."""
        if await self._scan_is_cheaper(len(wire.unique(member_ids))):
            found = wire.members_from_groups(wire.unique(member_ids), await self._all_groups())
            return [found.get(m) or self._not_found("member", m) for m in member_ids]

        async def fetch(part: Sequence[str]) -> dict[str, MemberRecord]:
            items = await self._list_all(self.groups_path, wire.or_filter("members", part))
            with self._wire("group"):
                groups = [wire.parse_group(item) for item in items]
            return wire.members_from_groups(part, groups)

        return await self._batch(member_ids, fetch, "member")

    # -- writes ----------------------------------------------------------------------------

    async def create_group(self, draft: GroupDraft) -> GroupRecord | str:
        """``POST Groups`` (RFC 7644 §3.3): one request, never retried."""
        data = await self._send("POST", self.groups_path, json=wire.group_body(draft))
        with self._wire("created group"):
            return wire.parse_group(data)

    async def replace_group(
        self, group_id: str, draft: GroupDraft, *, if_match: str | None = None
    ) -> GroupRecord | None:
        """``PUT Groups/{id}`` (RFC 7644 §3.5.1); ``None`` when the answer has no body."""
        data = await self._send(
            "PUT", self._group_url(group_id), json=wire.group_body(draft), if_match=if_match
        )
        return self._optional_group(data)

    async def patch_group(
        self, group_id: str, patch: GroupPatch, *, if_match: str | None = None
    ) -> GroupRecord | None:
        """``PATCH Groups/{id}`` (RFC 7644 §3.5.2): 200 with the group, or 204 (``None``)."""
        data = await self._send(
            "PATCH", self._group_url(group_id), json=wire.patch_body(patch), if_match=if_match
        )
        return self._optional_group(data)

    async def delete_group(self, group_id: str, *, if_match: str | None = None) -> None:
        """``DELETE Groups/{id}`` (RFC 7644 §3.6): 204."""
        await self._send("DELETE", self._group_url(group_id), if_match=if_match)

    def _group_url(self, group_id: str) -> str:
        return f"{self.groups_path}/{_segment(group_id)}"

    def _optional_group(self, data: Any) -> GroupRecord | None:
        if data is None:
            return None
        with self._wire("group"):
            return wire.parse_group(data)


def _whole_membership(data: Any) -> tuple[GroupPage, TenantMembership]:
    """A whole tenant's listing read as its page and its members' groups."""
    page = wire.parse_list(data, start_index=1)
    return page, TenantMembership(wire.membership_index(page.groups), page.groups, listing=True)


def _segment(value: str) -> str:
    """An id as one path segment: ``/``, ``?`` and ``#`` must not change the URL's shape."""
    return quote(value, safe="")
