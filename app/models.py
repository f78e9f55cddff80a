"""The gateway's own view of SCIM data, shared by adapters and schema.

Adapters turn wire payloads into these plain records; the schema turns them into GraphQL
objects. Neither side sees the other's types (no httpx here, no Strawberry here).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import msgspec


class BackendKind(enum.Enum):
    DESCOPE = "descope"
    CONDECO = "condeco"
    SCIM = "scim"


class MemberRef(msgspec.Struct, frozen=True, gc=False):
    """One entry of a group's ``members`` (RFC 7643 §4.2): the member's id and its display.

    A msgspec struct: the wire parser converts a page's member entries straight into these
    in C (thousands per directory scan). Only strings inside, so never in a reference cycle:
    untracked by the garbage collector (``gc=False``), which a scan would otherwise wake."""

    value: str
    display: str | None = None
    type: str | None = None


class GroupRecord(msgspec.Struct, frozen=True, gc=False):
    """A SCIM group as the backend returned it.

    ``members`` is ``None`` when the backend did not send the attribute (for instance on a
    list with ``excludedAttributes=members``): it is unknown, not empty.

    A msgspec struct like :class:`MemberRef`: a scan makes hundreds per request, and a frozen
    dataclass's ``__init__`` cost ~10x more. Never in a reference cycle: untracked by the GC.
    """

    id: str
    display_name: str
    external_id: str | None = None
    members: tuple[MemberRef, ...] | None = ()
    created: datetime | None = None
    last_modified: datetime | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class GroupName:
    """A group known only by its id and display name: not a whole record."""

    id: str
    display_name: str


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """What a backend knows of one member beyond the group's ``members`` entry."""

    id: str
    display: str | None = None
    login_id: str | None = None
    user_id: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class GroupPage:
    """One page of a search (RFC 7644 §3.4.2.4): ``start_index`` is 1-based."""

    groups: list[GroupRecord]
    total_results: int
    start_index: int


@dataclass(frozen=True, slots=True)
class GroupDraft:
    """The whole of a group, for create (POST) and replace (PUT)."""

    display_name: str
    external_id: str | None = None
    member_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupPatch:
    """A partial change (PATCH, RFC 7644 §3.5.2). Fields left ``None`` are not touched.

    ``external_id=""`` removes the externalId. ``replace_members`` replaces the whole list and
    excludes ``add_members``/``remove_members``.
    """

    display_name: str | None = None
    external_id: str | None = None
    add_members: tuple[str, ...] = ()
    remove_members: tuple[str, ...] = ()
    replace_members: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    """Answer to "which groups is each of these members in?".

    ``group_ids[i]`` lists the group ids of ``member_ids[i]`` (or an exception for that
    member). ``records`` holds any full group records the backend returned along the way, so
    the gateway can prime its group loader and skip reading them again.
    """

    group_ids: list[list[str] | Exception]
    records: Sequence[GroupRecord] = field(default_factory=list)
    names: Sequence[GroupName] = field(default_factory=list)
    """Groups the backend named without returning them whole (Descope's management API answers
    id, display and members, not externalId or meta): enough for a selection of members'
    groups that asks for nothing else."""


@dataclass(frozen=True, slots=True)
class TenantMembership:
    """Every member's groups across a whole (small) tenant, read at once: what a page reads
    alongside its own listing so that its members' groups cost no second round trip."""

    by_member: dict[str, list[str]]
    records: Sequence[GroupRecord] = ()
    names: Sequence[GroupName] = ()
    listing: bool = False
    """``records`` are every group of the tenant, whole and in the backend's own order (one
    listing of the tenant): the page that asked for this read can be cut from them."""

    def of(self, member_ids: Sequence[str]) -> Membership:
        """The answer :meth:`GroupBackend.groups_of_members` would give for ``member_ids``
        (a member no group lists is in none)."""
        by_member = self.by_member
        group_ids: list[list[str] | Exception] = [by_member.get(m) or [] for m in member_ids]
        return Membership(group_ids, self.records, self.names)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend supports (RFC 7643 §5, ServiceProviderConfig), or what the gateway assumes."""

    patch: bool = True
    filter: bool = True
    filter_max_results: int | None = None
    sort: bool = False
    etag: bool = False
    max_page_size: int = 100
    max_filter_terms: int = 50
    extra: dict[str, str] = field(default_factory=dict)
