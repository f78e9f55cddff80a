"""Scenario 4: one answer of 5,000 groups with 5 scalar fields each, executed in process.

The gateway caps ``first`` at 200, so the 5,000 groups come from 25 tenants of 200 each, all
in one ``tenants { groups(first: 200) }`` document. The data is already loaded: each tenant's
adapter is swapped for :class:`MemoryBackend`, which answers ``search_groups`` from a list of
``GroupRecord``, so what is timed is the gateway's own execution (``schema.execute``: parse,
validate, extensions, its resolvers, record-to-type conversion).

The baseline is plain graphql-core (``graphql.graphql``, parse and validate included) running
the same document over the same records, shaped as plain dicts ahead of time so the default
resolvers can read them. Both answers are checked to be equal before anything is timed.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, cast

import graphql

from app import ids
from app.adapters.base import GroupBackend
from app.auth import OPEN_ACCESS
from app.config import Limits, ScimTenant, Settings
from app.gateway import Gateway, open_gateway
from app.models import BackendKind, GroupPage, GroupRecord, MemberRef
from app.schema import build_schema
from app.schema.context import Context
from bench.report import Row, ms, times
from bench.scenarios import MEMBERS, Bench

TENANTS = 25
PER_TENANT = 200
FIELDS = "id scimId displayName externalId memberCount"
QUERY = f"{{ tenants {{ groups(first: {PER_TENANT}) {{ nodes {{ {FIELDS} }} }} }} }}"
BASELINE_SDL = """
type Query { tenants: [Tenant!]! }
type Tenant { id: ID! groups(first: Int = 50): GroupConnection }
type GroupConnection { nodes: [Group!]! }
type Group { id: ID! scimId: String! displayName: String! externalId: String memberCount: Int! }
"""


class MemoryBackend:
    """A tenant whose groups are already in memory: only ``search_groups`` is needed here."""

    kind = BackendKind.SCIM

    def __init__(self, tenant_id: str, records: list[GroupRecord]) -> None:
        self.tenant_id = tenant_id
        self.records = records

    async def search_groups(
        self, scim_filter: str | None, start_index: int, count: int, *, include_members: bool = True
    ) -> GroupPage:
        page = self.records[start_index - 1 : start_index - 1 + count]
        return GroupPage(groups=page, total_results=len(self.records), start_index=start_index)


def records(tenant: int) -> list[GroupRecord]:
    rng = random.Random(f"large:{tenant}")
    now = datetime.now(UTC)
    return [
        GroupRecord(
            id=f"{rng.getrandbits(64):016x}",
            display_name=f"Group {tenant}-{i}",
            external_id=f"ext-{rng.getrandbits(48):012x}",
            members=tuple(MemberRef(f"u{rng.randrange(600)}", "Someone") for _ in range(MEMBERS)),
            created=now,
            last_modified=now,
            version=f'W/"{i}"',
        )
        for i in range(PER_TENANT)
    ]


def baseline_root(data: dict[str, list[GroupRecord]]) -> dict[str, Any]:
    def group(tenant: str, r: GroupRecord) -> dict[str, Any]:
        return {
            "id": ids.encode_id("Group", tenant, r.id),
            "scimId": r.id,
            "displayName": r.display_name,
            "externalId": r.external_id,
            "memberCount": len(r.members or ()),
        }

    tenants = [
        {"id": tid, "groups": {"nodes": [group(tid, r) for r in rs]}} for tid, rs in data.items()
    ]
    return {"tenants": tenants}


async def _median(repeats: int, run: Callable[[], Coroutine[Any, Any, Any]]) -> float:
    """Median CPU time of this process over ``repeats`` runs (other processes' load on a
    shared machine does not count, as it would in wall-clock time)."""
    spent = []
    for _ in range(repeats):
        began = time.process_time()
        await run()
        spent.append(time.process_time() - began)
    return statistics.median(spent)


async def run(bench: Bench) -> None:
    data = {f"t{n:02d}": records(n) for n in range(TENANTS)}
    settings = Settings(
        tenants=[
            ScimTenant(id=tid, name=tid, backend="scim", base_url="http://127.0.0.1:9/v2")
            for tid in data
        ]
    )
    schema = build_schema(Limits())
    plain = graphql.build_schema(BASELINE_SDL)
    root = baseline_root(data)
    async with open_gateway(settings, env={}) as opened:
        tenants = {
            tid: dataclasses.replace(
                tenant, backend=cast(GroupBackend, MemoryBackend(tid, data[tid]))
            )
            for tid, tenant in opened.tenants.items()
        }
        gateway: Gateway = dataclasses.replace(opened, tenants=tenants)

        async def gateway_run() -> Any:
            result = await schema.execute(QUERY, context_value=Context(gateway, OPEN_ACCESS, None))
            if result.errors:
                raise RuntimeError(f"scenario 4: {result.errors}")
            return result.data

        async def plain_run() -> Any:
            result = await graphql.graphql(plain, QUERY, root_value=root)
            if result.errors:
                raise RuntimeError(f"scenario 4 baseline: {result.errors}")
            return result.data

        expected = await plain_run()
        got = await gateway_run()
        if got != {"tenants": [{"groups": t["groups"]} for t in expected["tenants"]]}:
            raise RuntimeError("scenario 4: the gateway and graphql-core answers differ")
        repeats = bench.mode.large_answer_repeats
        gateway_time, plain_time = 0.0, 0.0
        for _ in range(2):  # interleaved halves, so drift hits both alike
            gateway_time += await _median(repeats // 2 or 1, gateway_run) / 2
            plain_time += await _median(repeats // 2 or 1, plain_run) / 2
    count = TENANTS * PER_TENANT
    bench.rows.append(
        Row(
            "4",
            f"execute {count:,} groups x 5 fields (in process)",
            ms(gateway_time),
            f"graphql-core {ms(plain_time)}",
            times(gateway_time / plain_time),
            "<= 1.30x",
        )
    )
    bench.notes.append(
        f"4: {TENANTS} in-memory tenants x {PER_TENANT} groups (first is capped at 200), "
        f"median CPU time of {repeats} runs each; baseline = graphql-core default resolvers "
        "over the same records as dicts."
    )
