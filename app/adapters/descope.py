"""Descope: SCIM groups plus the management API's external groups.

Wire contract: ``/work/shared/seeds/descope-scim-groups.txt`` (``/scim/v2/Groups``, bearer
``<ProjectId>:<AccessKey>``, the access key bound to one tenant) and
``descope-mgmt-external-groups.txt`` (``POST /v1/mgmt/group/member/all``, bearer
``<ProjectId>:<ManagementKey>``). The client's ``base_url`` is ``https://api.descope.com``.

Where the seeds are silent (see :data:`DESCOPE_CAPABILITIES`): Descope publishes no
ServiceProviderConfig we rely on, so capabilities are static; no ``POST /.search``, no sort,
no ETags; pages of at most 100; a member's ``value`` in a SCIM group is its Descope userId,
the management API's ``userId``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, NamedTuple, TypeVar

import httpx
import msgspec
import orjson

from app.adapters import scimwire as wire
from app.adapters.http import Decoder
from app.adapters.scim import SMALL_TENANT_GROUPS, ScimAdapter
from app.adapters.scimwire import WireError
from app.adapters.unchanged import LastAnswer
from app.errors import GatewayError, NotFound
from app.models import (
    BackendKind,
    Capabilities,
    GroupName,
    MemberRecord,
    Membership,
    TenantMembership,
)
from app.resilience import Resilience

DESCOPE_CAPABILITIES = Capabilities(
    patch=True,
    filter=True,
    filter_max_results=None,
    sort=False,
    etag=False,
    max_page_size=100,
    max_filter_terms=50,
    extra={"membersOf": "mgmt /v1/mgmt/group/member/all"},
)

MEMBERS_OF_GROUPS = "v1/mgmt/group/member/all"
T = TypeVar("T")


class DescopeAdapter(ScimAdapter):
    """One Descope tenant. Without ``management_key``, membership and member details come
    from SCIM ``members eq`` filters instead of the management API."""

    kind = BackendKind.DESCOPE
    groups_path = "scim/v2/Groups"
    content_type = "application/json"  # the seed's curl examples send application/json
    post_search = False

    def __init__(
        self,
        tenant_id: str,
        client: httpx.AsyncClient,
        *,
        project_id: str,
        descope_tenant_id: str,
        access_key: str,
        management_key: str | None = None,
        resilience: Resilience | None = None,
        whole_tenant_groups: int = SMALL_TENANT_GROUPS,
    ) -> None:
        super().__init__(
            tenant_id,
            client,
            token=f"{project_id}:{access_key}",
            resilience=resilience,
            whole_tenant_groups=whole_tenant_groups,
        )
        self._descope_tenant_id = descope_tenant_id
        # The whole tenant's management answer, decoded and indexed once for as long as it
        # comes back the same (tenant_membership).
        self._whole_memberships = LastAnswer(decode_memberships)
        self._mgmt_auth = (
            {"Authorization": f"Bearer {project_id}:{management_key}"} if management_key else None
        )

    async def _read_capabilities(self) -> Capabilities:
        return DESCOPE_CAPABILITIES

    async def _external_groups(
        self,
        mgmt_auth: Mapping[str, str],
        member_ids: Sequence[str] | None,
        parse: Callable[[Any], T],
        decode: Decoder | None = None,
    ) -> T:
        """``POST /v1/mgmt/group/member/all {tenantId, userIds}``: one request for the batch;
        without ``member_ids``, every group of the tenant (the seed: userIds is optional)."""
        body: dict[str, Any] = {"tenantId": self._descope_tenant_id}
        if member_ids is not None:
            body["userIds"] = list(dict.fromkeys(member_ids))
        data = await self._send_as(
            mgmt_auth, "POST", MEMBERS_OF_GROUPS, json=body, idempotent=True, decode=decode
        )
        with self._wire("external group list"):
            return parse(data)

    async def groups_of_members(self, member_ids: Sequence[str]) -> Membership:
        """ONE management call for the whole batch; no full records (the management API has
        no externalId or meta), but each group's display name, which is all a selection of
        members' groups often asks. Without a management key: SCIM ``members eq`` filters."""
        if self._mgmt_auth is None:
            return await super().groups_of_members(member_ids)
        if not member_ids:
            return Membership(group_ids=[])
        try:
            by_member, names = await self._external_groups(
                self._mgmt_auth, member_ids, index_memberships, decode_memberships
            )
        except GatewayError as exc:
            return Membership(group_ids=[exc for _ in member_ids])
        return Membership(group_ids=[list(by_member.get(m, ())) for m in member_ids], names=names)

    def lists_whole_tenant(self) -> bool:
        # With a management key, the whole read is the management call: names, no records.
        return self._mgmt_auth is None and super().lists_whole_tenant()

    async def tenant_membership(self) -> TenantMembership | None:
        """Every group of a small tenant, named, with its members: ONE management call
        without ``userIds``, sent alongside a page (see ``ScimAdapter.tenant_membership``)."""
        if self._mgmt_auth is None:
            return await super().tenant_membership()
        if not self._small_tenant():
            return None
        whole = self._whole_memberships
        by_member, names = await self._external_groups(
            self._mgmt_auth, None, lambda data: whole.then(data, index_memberships), whole
        )
        return TenantMembership(by_member, names=names)

    async def get_members(self, member_ids: Sequence[str]) -> list[MemberRecord | Exception]:
        """The same ONE management call, read for loginId/userId/display; a user in no group
        of the tenant is :class:`NotFound`. Without a management key: the groups' entries."""
        if self._mgmt_auth is None:
            return await self._members_from_groups(member_ids)
        if not member_ids:
            return []
        try:
            groups = await self._external_groups(self._mgmt_auth, member_ids, parse_external_groups)
        except GatewayError as exc:
            return [exc for _ in member_ids]
        found: dict[str, MemberRecord] = {}
        for group in groups:
            for m in group.members:
                if m.user_id not in found or found[m.user_id].display is None:
                    found[m.user_id] = MemberRecord(
                        m.user_id, m.display, m.login_id, m.user_id, type="User"
                    )
        return [
            found[m] if m in found else NotFound(f"member {m!r} not found", tenant=self.tenant_id)
            for m in member_ids
        ]


def index_memberships(data: object) -> tuple[dict[str, list[str]], list[GroupName]]:
    """Each member's group ids, and the groups' names (a group listed twice is named as first
    listed), from the management answer as :func:`parse_memberships` reads it. Decoded by
    :func:`decode_memberships`, its entries are indexed in place
    (:func:`~app.adapters.scimwire.membership_index`): ~0.3 ms less per page's worth than
    making each group's list of userIds first."""
    first: dict[str, str | None] = {}
    if type(data) is _WireExternalGroups:
        listed = data.groups or ()
        by_member = wire.membership_index(listed)
        for entry in listed:
            first.setdefault(entry.id, entry.display or None)
    else:
        groups = parse_memberships(data)
        by_member = wire.index_members((group_id, users) for group_id, _, users in groups)
        for group_id, display, _ in groups:
            first.setdefault(group_id, display)
    return by_member, [GroupName(gid, display) for gid, display in first.items() if display]


class ExternalMember(NamedTuple):
    user_id: str
    login_id: str | None
    display: str | None


@dataclass(frozen=True, slots=True)
class ExternalGroup:
    id: str
    display: str | None
    members: tuple[ExternalMember, ...]


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def parse_external_groups(data: object) -> list[ExternalGroup]:
    """``{"groups": [{id, display, members: [{loginId, userId, display}]}]}``; every field is
    optional in the seed's types: a group needs an id, a member without userId is skipped."""
    return [
        ExternalGroup(
            group_id,
            _opt_str(group, "display"),
            tuple(
                ExternalMember(user_id, _opt_str(m, "loginId"), _opt_str(m, "display"))
                for m, user_id in _with_user_id(members)
            ),
        )
        for group, group_id, members in _checked_groups(data)
    ]


_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class _WireUser(msgspec.Struct, gc=False, rename={"value": "userId"}):
    """A member entry of the management answer, read for its userId alone, as ``value``: the
    name :func:`~app.adapters.scimwire.membership_index` reads. (Decoded from JSON, a tree:
    never in a reference cycle, so untracked by the garbage collector.)"""

    value: _NonEmpty


class _WireExternalGroup(msgspec.Struct, gc=False):
    id: _NonEmpty
    display: str | None = None
    members: list[_WireUser] | None = None


class _WireExternalGroups(msgspec.Struct, gc=False):
    groups: list[_WireExternalGroup] | None = None


_MEMBERSHIPS: Final = msgspec.json.Decoder(_WireExternalGroups)


def decode_memberships(content: bytes) -> Any:
    """The management answer straight from its bytes into structs holding only what
    :func:`parse_memberships` reads (a page's worth is ~0.5 MB, mostly loginIds and display
    names), when every group has an id and every member entry a userId; any other answer
    (an entry to skip, another shape, malformed JSON) is read by ``orjson.loads`` for the
    checked parser, which skips what it skips and says what is wrong."""
    try:
        return _MEMBERSHIPS.decode(content)
    except msgspec.MsgspecError:
        return orjson.loads(content)


def parse_memberships(data: object) -> list[tuple[str, str | None, list[str]]]:
    """The same answer read for membership: each group's id, its display name and its
    members' userIds (a page's worth is thousands of entries; nothing else of them is needed)."""
    if type(data) is _WireExternalGroups:  # decoded by decode_memberships: checked there
        return [
            (group.id, group.display or None, [m.value for m in group.members or ()])
            for group in data.groups or ()
        ]
    return [
        (group_id, _opt_str(group, "display"), [user_id for _, user_id in _with_user_id(members)])
        for group, group_id, members in _checked_groups(data)
    ]


def _checked_groups(data: object) -> Iterator[tuple[Mapping[str, Any], str, list[Any]]]:
    """Each group of the answer, checked: the group, its id, its raw members."""
    if not isinstance(data, Mapping):
        raise WireError("the management answer is not a JSON object")
    groups = data.get("groups") or []
    if not isinstance(groups, list):
        raise WireError("groups is not a list")
    for group in groups:
        group_id = _opt_str(group, "id") if isinstance(group, Mapping) else None
        if group_id is None:
            raise WireError("an external group has no id")
        members = group.get("members") or []
        if not isinstance(members, list):
            raise WireError("an external group's members is not a list")
        yield group, group_id, members


def _with_user_id(entries: list[Any]) -> Iterator[tuple[Mapping[str, Any], str]]:
    """The member entries that name a user, with its userId; any other entry is skipped.
    (``_opt_str``'s rule, written out: a page's membership answer has thousands of entries.)"""
    for m in entries:
        if type(m) is dict or isinstance(m, Mapping):
            user_id = m.get("userId")
            if type(user_id) is str and user_id:
                yield m, user_id
