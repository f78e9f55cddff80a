"""A request's objects are freed by reference counting when its answer is written.

The context, its loaders and the executor's memo refer to each other; left in cycles, a page's
thousands of Member and Group objects (and every dict of the answer) waited for the cycle
collector, whose pauses grew with them to tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import gc
from collections import Counter

from app.schema.types import Group, Member
from tests.gateway.conftest import GatewayClient

QUERY = """{ tenants { groups(first: 10) { nodes { displayName
  members { display loginId groups { displayName externalId } } } } } }"""


async def test_a_page_of_groups_leaves_no_cyclic_garbage_behind(gateway: GatewayClient) -> None:
    await gateway.data(QUERY)  # warm: once-per-process reads and caches
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        data = await gateway.data(QUERY)
        await asyncio.sleep(0.01)
        gc.collect()
        kinds = Counter(type(o) for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    members = [m for t in data["tenants"] for g in t["groups"]["nodes"] for m in g["members"]]
    assert len(members) > 50
    assert kinds[Member] == 0 and kinds[Group] == 0
