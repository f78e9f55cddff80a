"""Per-request, per-tenant dataloaders: every relation goes through these.

Built per request (in the GraphQL context getter; a tenant's on first use), so nothing cached
here outlives the request. Each batch function returns one value per key, in order; a key that
failed gets its exception, and a whole-batch upstream failure becomes that exception for every
key rather than an unhandled error.

The loaders are :class:`ManyLoader`, not aiodataloader's DataLoader: the gateway asks for keys
by the hundred (a page's members, their groups), and a DataLoader's future and callbacks per
key cost more than the work done for the key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from app.adapters.speculation import READ_CLOCK, ReadClock
from app.errors import GatewayError
from app.gateway import Tenant
from app.models import GroupName, GroupRecord, MemberRecord, TenantMembership
from app.observability.metrics import observe_batch
from app.send_order import SendOrder

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


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

    def __init__(self, tenant: Tenant, order: SendOrder) -> None:
        self.tenant = tenant
        self._order = order
        self.groups: ManyLoader[str, GroupRecord] = ManyLoader(self._load_groups)
        self.member_groups: ManyLoader[str, list[str]] = ManyLoader(self._load_member_groups)
        self.members: ManyLoader[str, MemberRecord] = ManyLoader(self._load_members)
        # Groups a membership answer named without their whole record, by id.
        self._names: dict[str, GroupName] = {}
        # The whole tenant's membership, asked for alongside a page (expect_membership), and
        # whether the backend said it would read it as one listing of the tenant.
        self._whole: asyncio.Future[TenantMembership | None] | None = None
        self._listing = False

    def close(self) -> None:
        for loader in (self.groups, self.member_groups, self.members):
            loader.close()
        self._names.clear()
        self._drop_whole()

    def expect_membership(self) -> None:
        """A page is about to be read and its members' groups are selected: ask the backend
        now, alongside the page's own read, for the whole tenant's membership, which it reads
        when the tenant is small enough (else nothing is sent). The page's members' groups
        then cost no second round trip. Where the request reads several tenants so, a much
        slower tenant's read leaves first (:mod:`app.send_order`)."""
        if self._whole is None:
            tenant = self.tenant
            self._listing = tenant.backend.lists_whole_tenant()
            self._order.announce(tenant.id, tenant.whole_reads.seconds)
            whole = self._whole = asyncio.ensure_future(self._read_whole())
            whole.add_done_callback(_consume)

    async def _read_whole(self) -> TenantMembership | None:
        tenant, order = self.tenant, self._order
        # Times the read itself when its answer was assumed (app.adapters.speculation).
        clock = ReadClock(tenant.whole_reads.observe)
        READ_CLOCK.set(clock)  # this task's own context
        try:
            await order.after_slower(tenant.id, tenant.whole_reads.seconds)
            began = time.perf_counter()
            read = tenant.backend.tenant_membership()
            # Runs after this step, which takes the read as far as the wire.
            asyncio.get_running_loop().call_soon(order.left, tenant.id)
            membership = await read
        finally:
            order.left(tenant.id)  # failed or cancelled before sending: nobody waits for it
        if membership is not None and not clock.deferred:  # None: no such read was sent
            tenant.whole_reads.observe(time.perf_counter() - began)
        return membership

    async def whole_listing(self) -> Sequence[GroupRecord] | None:
        """Every group of the tenant, whole and in the backend's order, when the membership
        :meth:`expect_membership` asked for is read as one listing of the tenant; ``None``
        otherwise, at once when no such read was asked for (or it failed, or the tenant had
        grown past one page: the caller then reads its page itself)."""
        if self._whole is None or not self._listing:
            return None
        whole = await self._whole_membership()
        return whole.records if whole is not None and whole.listing else None

    async def before_page_read(self, among_others: bool) -> None:
        """Before a page is read on its own beside the whole read :meth:`expect_membership`
        asked for: let much slower tenants' reads of this request leave first. When the page
        is one of a list of tenants' (``among_others``), the tenants after it have not asked
        for theirs yet: one turn of the loop lets them."""
        if self._whole is None:
            return
        if among_others:
            await asyncio.sleep(0)
        await self._order.after_slower(self.tenant.id, self.tenant.whole_reads.seconds)

    def prime_groups(self, records: Iterable[GroupRecord]) -> None:
        """Remember complete groups read by a search, so relations do not read them again."""
        for record in records:
            if record.members is not None:
                self.groups.prime(record.id, record)

    def forget_group(self, group_id: str) -> None:
        """Drop a group after a write, so the next read sees the backend's new state."""
        self.groups.forget(group_id)
        self._names.pop(group_id, None)
        self._whole = None  # read before the write: not to be used after it
        self._listing = False

    def _drop_whole(self) -> None:
        if self._whole is not None and not self._whole.done():
            self._whole.cancel()  # the request is over: nobody waits for it
        self._whole = None

    async def _whole_membership(self) -> TenantMembership | None:
        """The membership :meth:`expect_membership` asked for; ``None`` when it was not asked,
        the backend had no such read, or it failed (members are then asked for by id, which
        reports any failure per key)."""
        whole = self._whole
        if whole is None:
            return None
        try:
            return await asyncio.shield(whole)  # others may wait on it too
        except GatewayError:
            return None

    async def names_by_id(self, keys: Sequence[str]) -> list[GroupRecord | GroupName | Exception]:
        """Groups by id, for a caller that needs no more than a name: a group a membership
        answer named is not read whole (with Descope, that saves scanning the tenant)."""
        names, groups = self._names, self.groups
        whole = [key for key in keys if key not in names or groups.known(key)]
        found = dict(zip(whole, await groups.load_many(whole), strict=True))
        return [found[key] if key in found else names[key] for key in keys]

    async def _load_groups(self, keys: list[str]) -> list[GroupRecord | Exception]:
        observe_batch(self.tenant.id, "groups", len(keys))
        backend = self.tenant.backend
        return await _per_key(self.tenant.id, keys, lambda: backend.get_groups(keys))

    async def _load_member_groups(self, keys: list[str]) -> list[list[str] | Exception]:
        observe_batch(self.tenant.id, "member_groups", len(keys))

        async def call() -> list[list[str] | Exception]:
            whole = await self._whole_membership()
            if whole is not None:
                membership = whole.of(keys)
            else:
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


class ManyLoader(Generic[K, V]):
    """A per-request loader for callers that ask many keys at once (a page's ~500 members).

    Like a DataLoader, the keys asked within one tick share one batch and each key's answer
    is kept for the request (a failed key keeps its exception in place of a value);
    unlike aiodataloader, a call waits on its batches, not on one future per key, whose
    callbacks cost more than the work itself at that size."""

    def __init__(self, batch: Callable[[list[K]], Awaitable[list[V | Exception]]]) -> None:
        self._batch = batch
        self._done: dict[K, V | Exception] = {}
        self._reading: dict[K, asyncio.Future[dict[K, V | Exception]]] = {}  # until done
        self._queued: list[K] = []
        self._next: asyncio.Future[dict[K, V | Exception]] | None = None  # gathering
        self._tasks: set[asyncio.Task[None]] = set()
        self._forgets = 0  # forget() and clear() calls: a batch with none since is all ours

    async def load_many(self, keys: Sequence[K]) -> list[V | Exception]:
        done = self._done
        try:
            return [done[key] for key in keys]  # all answered already (primed, or read)
        except KeyError:
            pass
        found: dict[K, Any] = {}
        waits: dict[asyncio.Future[dict[K, V | Exception]], list[K]] = {}
        new: list[K] = []
        reading = self._reading
        distinct = dict.fromkeys(keys)
        if done.keys().isdisjoint(distinct) and reading.keys().isdisjoint(distinct):
            new = list(distinct)  # none answered or asked yet: a page's members, say
        else:
            for key in distinct:
                if key in done:
                    found[key] = done[key]
                elif (batch := reading.get(key)) is not None:
                    waits.setdefault(batch, []).append(key)
                else:
                    new.append(key)
        if new:
            waits.setdefault(self._gather(new), []).extend(new)
        if len(waits) == 1 and len(new) == len(keys):
            # One batch, all of it ours, ``keys`` all distinct: its answers are in their order.
            answers = await asyncio.shield(next(iter(waits)))
            if len(answers) == len(keys):
                return list(answers.values())
            found.update(answers)  # others' keys joined the batch: pick ours below
            return [found[key] for key in keys]
        for batch, asked in waits.items():
            # Shielded: a caller that is cancelled must not cancel a batch others wait on.
            answers = await asyncio.shield(batch)
            if len(asked) == len(answers):  # the whole batch was ours
                found.update(answers)
            else:
                for key in asked:
                    found[key] = answers[key]
        return [found[key] for key in keys]

    async def load(self, key: K) -> V:
        """One key; its exception is raised."""
        result: V | Exception = self._done.get(key, _MISSING)
        if result is _MISSING:
            batch = self._reading.get(key) or self._gather([key])
            result = (await asyncio.shield(batch))[key]  # shielded: see load_many
        if isinstance(result, Exception):
            raise result
        return result

    def prime(self, key: K, value: V) -> None:
        """Answer ``key`` with ``value`` from now on, unless it is already answered or asked."""
        if key not in self._done and key not in self._reading:
            self._done[key] = value

    def known(self, key: K) -> bool:
        """Whether ``key`` is answered without a batch (read or primed)."""
        return key in self._done

    def forget(self, key: K) -> None:
        """Read ``key`` again when next asked (a batch already reading it is not kept)."""
        self._done.pop(key, None)
        self._reading.pop(key, None)
        self._forgets += 1

    def clear(self) -> None:
        self._done.clear()
        self._reading.clear()
        self._forgets += 1

    def close(self) -> None:
        """Forget everything and refuse new batches: the request is over. (This also breaks
        the reference cycle of a batch function that is a method of the loader's owner.)"""
        self.clear()
        self._batch = _closed

    def _gather(self, keys: list[K]) -> asyncio.Future[dict[K, V | Exception]]:
        """The batch of this tick, now reading ``keys`` too (none of them read or reading)."""
        batch = self._next
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._next = loop.create_future()
            loop.call_soon(self._dispatch)
        self._queued.extend(keys)
        self._reading.update(dict.fromkeys(keys, batch))
        return batch

    def _dispatch(self) -> None:
        keys, batch = self._queued, self._next
        self._queued, self._next = [], None
        assert batch is not None
        task = asyncio.ensure_future(self._run(keys, batch))
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    async def _run(self, keys: list[K], batch: asyncio.Future[dict[K, V | Exception]]) -> None:
        reading = self._reading
        forgets = self._forgets
        try:
            results = await self._batch(keys)
            if len(results) != len(keys):
                raise RuntimeError(f"a batch of {len(keys)} keys returned {len(results)}")
        except Exception as exc:
            results = [exc] * len(keys)
        except BaseException:  # cancelled: whoever waits is told, and may ask again
            for key in keys:
                if reading.get(key) is batch:
                    del reading[key]
            batch.cancel()
            raise
        answers = dict(zip(keys, results, strict=True))
        if self._forgets == forgets:  # nothing forgotten meanwhile: every key is still ours
            for key in keys:
                del reading[key]
            self._done.update(answers)
        else:
            for key, result in answers.items():
                if reading.get(key) is batch:  # not forgotten meanwhile
                    del reading[key]
                    self._done[key] = result
        if not batch.done():
            batch.set_result(answers)


def _consume(done: asyncio.Future[Any]) -> None:
    """Mark a read nobody may wait for as seen: its failure is not a "never retrieved" one."""
    if not done.cancelled():
        done.exception()


_MISSING: Any = object()


async def _closed(keys: list[Any]) -> list[Any]:
    raise RuntimeError("this request's loaders are closed")


class Loaders:
    """All tenants' loaders for one request, made in the async context getter. A tenant's
    are built when the request first touches it (a ``node(id:)`` reads one tenant of many)."""

    def __init__(self, tenants: dict[str, Tenant]) -> None:
        self._tenants = tenants
        self._by_tenant: dict[str, TenantLoaders] = {}
        self._order = SendOrder()

    def close(self) -> None:
        for loaders in self._by_tenant.values():
            loaders.close()
        self._by_tenant.clear()

    def __getitem__(self, tenant_id: str) -> TenantLoaders:
        loaders = self._by_tenant.get(tenant_id)
        if loaders is None:
            loaders = self._by_tenant[tenant_id] = TenantLoaders(
                self._tenants[tenant_id], self._order
            )
        return loaders
