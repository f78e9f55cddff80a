"""The one port every backend adapter implements.

An adapter speaks one backend's wire format over an ``httpx.AsyncClient`` it is given (the app's
lifespan owns and closes it). It returns :mod:`app.models` records and raises only
:class:`app.errors.GatewayError` subclasses: httpx exceptions and upstream error bodies are
translated at the adapter's send step, once. Adapters never import Strawberry and keep no state
between GraphQL requests other than credentials (for example a cached access token),
capabilities and size hints: never data.

Batch methods take a sequence of keys and return one result per key, in order, with an
exception in place of a key that failed, so one bad key never fails the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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


class GroupBackend(Protocol):
    """Groups and members of one tenant on one SCIM directory."""

    kind: BackendKind
    tenant_id: str

    async def capabilities(self) -> Capabilities:
        """What the backend supports: read once (ServiceProviderConfig where it has one)."""
        ...

    async def search_groups(
        self,
        scim_filter: str | None,
        start_index: int,
        count: int,
        *,
        include_members: bool = True,
    ) -> GroupPage:
        """One page of groups matching an already-validated SCIM filter (RFC 7644 §3.4.2).

        ``start_index`` is 1-based. The page may hold fewer than ``count`` groups even when more
        exist (servers cap page sizes): callers advance by ``len(page.groups)``.
        """
        ...

    async def get_groups(self, ids: Sequence[str]) -> list[GroupRecord | Exception]:
        """Groups by SCIM id, one result per id in order; :class:`NotFound` for a missing one.

        Batched: one ``or`` filter (chunked) or the backend's batch call, not one GET per id,
        unless the backend offers nothing better.
        """
        ...

    async def groups_of_members(self, member_ids: Sequence[str]) -> Membership:
        """The ids of the groups each member belongs to, in as few upstream calls as possible."""
        ...

    def lists_whole_tenant(self) -> bool:
        """Whether :meth:`tenant_membership`, asked now, reads the tenant as one listing of
        every group, whole (``TenantMembership.listing``): a page can then be cut from it
        rather than read on its own."""
        ...

    async def tenant_membership(self) -> TenantMembership | None:
        """Every member's groups across the whole tenant, when the backend knows (from a size
        hint of an earlier listing) that it is small enough to read at once, in one request;
        ``None`` when not. A page asks for it alongside its own read, so that its members'
        groups need no second round trip."""
        ...

    async def get_members(self, member_ids: Sequence[str]) -> list[MemberRecord | Exception]:
        """Member details (display, loginId, userId), one per id; :class:`NotFound` if unknown."""
        ...

    async def create_group(self, draft: GroupDraft) -> GroupRecord | str:
        """Create a group and return it, or only its new id when the backend's answer is not
        the complete group (Condeco does not echo members): the caller then reads it back.
        Never sent twice."""
        ...

    async def replace_group(
        self, group_id: str, draft: GroupDraft, *, if_match: str | None = None
    ) -> GroupRecord | None:
        """PUT the whole group; ``None`` means "read it back"."""
        ...

    async def patch_group(
        self, group_id: str, patch: GroupPatch, *, if_match: str | None = None
    ) -> GroupRecord | None:
        """PATCH part of a group; ``None`` means "read it back" (Condeco answers 204)."""
        ...

    async def delete_group(self, group_id: str, *, if_match: str | None = None) -> None:
        """Delete a group; :class:`NotFound` if it does not exist."""
        ...
