"""Per-request, per-tenant dataloaders: every relation goes through these.

Built in the GraphQL context getter, once per request (aiodataloader binds the running event
loop when constructed), so nothing cached here outlives the request. Each batch function
returns one value per key, in order; a key that failed gets its exception, and a whole-batch
upstream failure becomes that exception for every key rather than an unhandled error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

from aiodataloader import DataLoader

from app.errors import GatewayError
from app.gateway import Tenant
from app.models import GroupName, GroupRecord, MemberRecord
from app.observability.metrics import observe_batch

T = TypeVar("T")


async def _per_key(
    tenant: str, keys: Sequence[str], call: Callable[[], Awaitable[list[T | Exception]]]
) -> list[T | Exception]:
    try:
        results = await call()
    except GatewayError as exc:
        return [exc.for_tenant(tenant)] * len(keys)
    for result in results:
        if isinstance(result, GatewayError):
            result.for_tenant(tenant)
    return results


class TenantLoaders:
    """The three batched reads of one tenant."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        # aiodataloader resolves a key to the Exception its batch returned for it (load() raises
        # it), but its stubs only admit values: hence the casts.
        self.groups: DataLoader[str, GroupRecord] = DataLoader(cast(Any, self._load_groups))
        self.member_groups: DataLoader[str, list[str]] = DataLoader(
            cast(Any, self._load_member_groups)
        )
        self.members: DataLoader[str, MemberRecord] = DataLoader(cast(Any, self._load_members))
        # The complete groups this request holds (primed or read), by id: what the groups
        # loader would answer at once, without a future per key.
        self._held: dict[str, GroupRecord] = {}
        # Groups a membership answer named without their whole record, by id.
        self._names: dict[str, GroupName] = {}

    def prime_groups(self, records: Iterable[GroupRecord]) -> None:
        """Remember complete groups read by a search, so relations do not read them again."""
        for record in records:
            if record.members is not None:
                self.groups.prime(record.id, record)
                self._held.setdefault(record.id, record)

    def forget_group(self, group_id: str) -> None:
        """Drop a group after a write, so the next read sees the backend's new state."""
        self.groups.clear(group_id)
        self._held.pop(group_id, None)
        self._names.pop(group_id, None)

    async def groups_by_id(self, keys: Sequence[str]) -> list[GroupRecord | Exception]:
        """``load_each(self.groups, keys)``, but only groups this request does not hold yet go
        through the loader: a page of members' groups names the same groups thousands of
        times, and a loader future per key was a large share of that query's CPU."""
        held = self._held
        missing = [key for key in keys if key not in held]
        loaded = dict(zip(missing, await load_each(self.groups, missing), strict=True))
        return [held[key] if key in held else loaded[key] for key in keys]

    async def names_by_id(self, keys: Sequence[str]) -> list[GroupRecord | GroupName | Exception]:
        """``groups_by_id``, for a caller that needs no more than a name: a group a membership
        answer named is not read whole (with Descope, that saves scanning the tenant)."""
        names = self._names
        whole = [key for key in keys if key not in names or key in self._held]
        found = dict(zip(whole, await self.groups_by_id(whole), strict=True))
        return [found[key] if key in found else names[key] for key in keys]

    async def _load_groups(self, keys: list[str]) -> list[GroupRecord | Exception]:
        observe_batch(self.tenant.id, "groups", len(keys))
        backend = self.tenant.backend
        results = await _per_key(self.tenant.id, keys, lambda: backend.get_groups(keys))
        for key, result in zip(keys, results, strict=True):
            if isinstance(result, GroupRecord):
                self._held.setdefault(key, result)
        return results

    async def _load_member_groups(self, keys: list[str]) -> list[list[str] | Exception]:
        observe_batch(self.tenant.id, "member_groups", len(keys))

        async def call() -> list[list[str] | Exception]:
            membership = await self.tenant.backend.groups_of_members(keys)
            self.prime_groups(membership.records)
            for name in membership.names:
                self._names[name.id] = name
            return membership.group_ids

        return await _per_key(self.tenant.id, keys, call)

    async def _load_members(self, keys: list[str]) -> list[MemberRecord | Exception]:
        observe_batch(self.tenant.id, "members", len(keys))
        backend = self.tenant.backend
        return await _per_key(self.tenant.id, keys, lambda: backend.get_members(keys))


class Loaders:
    """All tenants' loaders for one request, made in the async context getter. A tenant's
    are built when the request first touches it (a ``node(id:)`` reads one tenant of many)."""

    def __init__(self, tenants: dict[str, Tenant]) -> None:
        self._tenants = tenants
        self._by_tenant: dict[str, TenantLoaders] = {}

    def __getitem__(self, tenant_id: str) -> TenantLoaders:
        loaders = self._by_tenant.get(tenant_id)
        if loaders is None:
            loaders = self._by_tenant[tenant_id] = TenantLoaders(self._tenants[tenant_id])
        return loaders


async def load_each(loader: DataLoader[str, Any], keys: Sequence[str]) -> list[Any]:
    """Load many keys at once, keeping each key's exception instead of failing them all.

    The keys are all queued before the first wait, so they share one batch; the futures are
    then awaited in turn (once the batch is in, each is already done) instead of through
    ``asyncio.gather``, whose per-future callbacks cost more than the loads themselves when
    a page asks for thousands of keys."""
    futures = [loader.load(key) for key in keys]
    out: list[Any] = []
    for future in futures:
        try:
            out.append(await future)
        except Exception as exc:
            out.append(exc)
    return out
