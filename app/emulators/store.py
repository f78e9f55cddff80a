"""The in-memory group store both vendor emulators keep, one per tenant.

Groups are plain dataclasses indexed by id, by lower-cased displayName and by member value,
so the filters the gateway sends most (``id eq``, ``members eq``, ``displayName eq``, and
``or`` chains of them) are answered from sets (see :mod:`app.emulators.filtering`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.emulators.common import ScimHTTPError
from app.emulators.filtering import compile_filter


@dataclass(frozen=True, slots=True)
class StoredUser:
    """A directory user a group can hold: ``id`` is the member ``value``."""

    id: str
    display: str
    email: str


@dataclass(frozen=True, slots=True)
class SeedPerson:
    """A person of the demo data, before an emulator gives them its own style of id."""

    display: str
    email: str


@dataclass(frozen=True, slots=True)
class SeedGroup:
    """A group of the demo data; ``members`` index into the list of :class:`SeedPerson`."""

    display_name: str
    external_id: str | None
    members: tuple[int, ...]


@dataclass(slots=True)
class StoredGroup:
    """A group as stored; ``members`` maps each member value to its display, in order."""

    id: str
    display_name: str
    external_id: str | None
    members: dict[str, str | None]
    created: datetime
    last_modified: datetime
    version: int = 1

    def copy(self) -> StoredGroup:
        return dataclasses.replace(self, members=dict(self.members))


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Page:
    """One page of a search (RFC 7644 §3.4.2.4): 1-based ``start_index``, full ``total``."""

    groups: list[StoredGroup]
    total: int
    start_index: int
    count: int


@dataclass
class GroupStore:
    """Groups and users of one tenant. ``new_id`` mints group ids in the vendor's style."""

    new_id: Callable[[], str]
    clock: Callable[[], datetime] = utcnow
    groups: dict[str, StoredGroup] = field(default_factory=dict)
    users: dict[str, StoredUser] = field(default_factory=dict)
    _by_member: dict[str, set[str]] = field(default_factory=dict)
    _by_name: dict[str, set[str]] = field(default_factory=dict)

    # -- users ---------------------------------------------------------------------------

    def add_user(self, user: StoredUser) -> None:
        self.users[user.id] = user

    def resolve_members(self, members: Iterable[tuple[str, str | None]]) -> dict[str, str | None]:
        """Member values with the display the directory knows, else the one the client sent."""
        resolved: dict[str, str | None] = {}
        for value, display in members:
            user = self.users.get(value)
            resolved[value] = user.display if user is not None else display
        return resolved

    # -- reads ---------------------------------------------------------------------------

    def get(self, group_id: str) -> StoredGroup:
        try:
            return self.groups[group_id]
        except KeyError:
            raise ScimHTTPError(404, f"Group {group_id} not found") from None

    def ids_with_member(self, value: object) -> set[str]:
        return set(self._by_member.get(value, ())) if isinstance(value, str) else set()

    def ids_named(self, display_name: str) -> set[str]:
        return set(self._by_name.get(display_name.lower(), ()))

    def search(
        self,
        scim_filter: str | None,
        start_index: int,
        count: int,
        *,
        sort_by: str | None = None,
        descending: bool = False,
    ) -> Page:
        """Filter, sort and page (RFC 7644 §3.4.2.2-§3.4.2.4); ``count`` is already capped."""
        matches: list[StoredGroup]
        if scim_filter is None or not scim_filter.strip():
            matches = list(self.groups.values())
        else:
            plan = compile_filter(scim_filter, self)
            if plan.candidates is None:
                matches = [g for g in self.groups.values() if plan.predicate(g)]
            else:
                picked = [self.groups[i] for i in plan.candidates]
                if not plan.exact:
                    picked = [g for g in picked if plan.predicate(g)]
                order = {gid: n for n, gid in enumerate(self.groups)} if len(picked) > 1 else {}
                matches = sorted(picked, key=lambda g: order.get(g.id, 0))
        if sort_by is not None:
            if sort_by.lower() not in {"displayname", "id"}:
                raise ScimHTTPError(400, f"Cannot sort by {sort_by}", "invalidValue")
            by_id = sort_by.lower() == "id"
            matches.sort(
                key=lambda g: g.id if by_id else g.display_name.lower(), reverse=descending
            )
        start_index = max(start_index, 1)
        chosen = matches[start_index - 1 : start_index - 1 + max(count, 0)]
        return Page(chosen, len(matches), start_index, count)

    # -- writes --------------------------------------------------------------------------

    def create(
        self,
        display_name: str,
        external_id: str | None = None,
        members: Iterable[tuple[str, str | None]] = (),
        *,
        group_id: str | None = None,
    ) -> StoredGroup:
        if group_id is not None and group_id in self.groups:
            raise ScimHTTPError(409, f"Group {group_id} already exists", "uniqueness")
        now = self.clock()
        group = StoredGroup(
            id=group_id or self.new_id(),
            display_name=display_name,
            external_id=external_id,
            members=self.resolve_members(members),
            created=now,
            last_modified=now,
        )
        self.groups[group.id] = group
        self._index(group)
        return group

    def save(self, group: StoredGroup) -> StoredGroup:
        """Store a changed copy of a group (from PUT or PATCH), bumping its version."""
        old = self.get(group.id)
        self._unindex(old)
        group.last_modified = self.clock()
        group.version = old.version + 1
        self.groups[group.id] = group
        self._index(group)
        return group

    def delete(self, group_id: str) -> None:
        self._unindex(self.get(group_id))
        del self.groups[group_id]

    def _index(self, group: StoredGroup) -> None:
        self._by_name.setdefault(group.display_name.lower(), set()).add(group.id)
        for value in group.members:
            self._by_member.setdefault(value, set()).add(group.id)

    def _unindex(self, group: StoredGroup) -> None:
        self._by_name.get(group.display_name.lower(), set()).discard(group.id)
        for value in group.members:
            self._by_member.get(value, set()).discard(group.id)


def parse_paging(
    query: Mapping[str, str], *, default_count: int, max_count: int
) -> tuple[int, int]:
    """``startIndex`` and ``count`` per RFC 7644 §3.4.2.4.

    A ``startIndex`` below 1 is read as 1, a negative ``count`` as 0, and ``count`` is capped
    at the server's page size. Text that is not an integer answers 400 ``invalidValue``.
    """
    try:
        start = int(query.get("startIndex", "1") or "1")
        count = int(query.get("count", str(default_count)) or str(default_count))
    except ValueError:
        raise ScimHTTPError(400, "startIndex and count must be integers", "invalidValue") from None
    return max(start, 1), min(max(count, 0), max_count)
