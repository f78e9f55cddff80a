"""Scenario 1: upstream requests per tenant for a page of groups, their members and each
member's groups, next to the naive count and the fewest the adapters' plans allow.

The query is sent once per N with every emulator's log reset just before. The bound is worked
out here from the same seeded directory (``build_demo`` is deterministic) by replaying each
adapter's plan, not hard-coded. A batch of K keys costs the cheaper of ``ceil(K /
max_filter_terms)`` or-filter chunks (sent concurrently) and a scan of the whole tenant in
``ceil(groups / max_page_size)`` pages (the adapter scans only when that is strictly fewer):

- Descope (``DescopeAdapter``): 1 list page + 1 ``POST /v1/mgmt/group/member/all`` for every
  member on the page. Its answer names each group, and the query asks members' groups for
  their displayName alone, so no group is read whole (a selection asking for more, such as
  externalId, adds a batch of ``id eq`` reads of the groups not on the page).
- Condeco (``CondecoAdapter``, no ``/.search``): 1 list page + a batch of ``members eq`` reads
  of the page's distinct members; the answers are whole groups, so nothing is read twice. The
  token is fetched once per lifetime (cold start).
- SCIM (``ScimAdapter``): 1 list page + one ``POST Groups/.search`` of all the page's distinct
  members, paged by ``max_page_size``: the server's ``filter.maxResults`` (ServiceProviderConfig,
  read once: cold start).

Once a warm tenant is known to hold at most ``SMALL_TENANT_GROUPS`` groups, the tenant is
read whole with the page. For Descope that is the management call without ``userIds``, sent
with the page: the same count, one round trip fewer (scenario 2 shows it). For Condeco and
scim it is one listing of every group, when it fits one page, and an unfiltered page is cut
from it: one request in all, which is the least any plan can make.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from scim2_models import Group as ScimGroup

from app.adapters.condeco import CONDECO_CAPABILITIES
from app.adapters.scim import SMALL_TENANT_GROUPS
from app.adapters.scimwire import MAX_PAGE_SIZE
from app.emulators import DESCOPE_TENANT_ID, DemoEnvironment, build_demo
from app.models import Capabilities
from bench.report import Row
from bench.scenarios import MEMBERS, Bench
from bench.servers import KINDS, TENANT_OF

QUERY = (
    "{ tenants { id groups(first: %d) { nodes { displayName "
    "members { display groups { displayName } } } } } }"
)
# scim2-server announces filter.maxResults 1000; the adapter pages by that, within its cap.
SCIM_PAGE = min(1000, MAX_PAGE_SIZE)
LIST_PAGE_CAP = 200  # every emulator's list page cap (and the gateway's MAX_FIRST)

Directory = list[tuple[str, list[str]]]
"""Each group's id and member values, in the order the backend lists groups."""
Lookup = Callable[[list[str]], int]
"""How many groups one or-filter chunk of keys matches."""


def directories(demo: DemoEnvironment) -> dict[str, Directory]:
    scim_groups = [r for r in demo.scim.storage.resources if isinstance(r, ScimGroup)]
    return {
        "descope": [
            (g.id, list(g.members)) for g in demo.descope.store(DESCOPE_TENANT_ID).groups.values()
        ],
        "condeco": [(g.id, list(g.members)) for g in demo.condeco.store.groups.values()],
        # scim2-server lists groups sorted by id.
        "scim": sorted((str(g.id), [str(m.value) for m in g.members or ()]) for g in scim_groups),
    }


def _pages(found: int, page: int) -> int:
    return max(1, math.ceil(found / page))


def _groups_of(directory: Directory, members: Iterable[str]) -> set[str]:
    wanted = set(members)
    return {gid for gid, values in directory if wanted.intersection(values)}


def _batch_cost(keys: list[str], directory: Directory, caps: Capabilities, found: Lookup) -> int:
    """Requests for a batch of ``keys``: or-filter chunks, or a scan when that is fewer."""
    if not keys:
        return 0
    scan = _pages(len(directory), caps.max_page_size)
    size = caps.max_filter_terms
    chunks = [keys[i : i + size] for i in range(0, len(keys), size)]
    if scan < len(chunks):
        return scan
    return sum(1 if len(c) == 1 else _pages(found(c), caps.max_page_size) for c in chunks)


def design_bound(kind: str, directory: Directory, n: int) -> int:
    whole_page = {"condeco": CONDECO_CAPABILITIES.max_page_size, "scim": SCIM_PAGE}.get(kind, 0)
    if len(directory) <= min(SMALL_TENANT_GROUPS, whole_page):
        return 1  # one listing of the whole tenant: the page and every member's groups
    page = directory[:n]
    members = list(dict.fromkeys(m for _, values in page for m in values))
    listing = _pages(n, LIST_PAGE_CAP)
    if kind == "descope":
        return listing + 1
    if kind == "condeco":

        def holding(chunk: list[str]) -> int:
            return len(_groups_of(directory, chunk))

        return listing + _batch_cost(members, directory, CONDECO_CAPABILITIES, holding)
    return listing + _pages(len(_groups_of(directory, members)), SCIM_PAGE)


def naive(n: int) -> int:
    """One list, one read of each group's members, one lookup of each member's groups."""
    return 1 + n + n * MEMBERS


async def _counts(bench: Bench, n: int) -> dict[str, int]:
    emulators = bench.fleet.emulators
    for emulator in emulators.values():
        await emulator.reset(bench.http)
    response = await bench.http.post(
        f"{bench.fleet.gateway.url}/graphql", json={"query": QUERY % n}
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"scenario 1 query failed: {body['errors']}")
    for tenant in body["data"]["tenants"]:
        nodes = tenant["groups"]["nodes"]
        if len(nodes) != n or any(len(g["members"]) != MEMBERS for g in nodes):
            raise RuntimeError(f"scenario 1: {tenant['id']} did not answer {n} full groups")
    return {kind: (await emulators[kind].stats(bench.http)).total for kind in KINDS}


async def run(bench: Bench) -> None:
    mode = bench.mode
    # The same seeded directory the emulators built (build_demo is deterministic).
    demo = build_demo(
        groups_per_tenant=mode.groups, members_per_group=MEMBERS, users_per_tenant=mode.users
    )
    dirs = directories(demo)
    sizes = mode.page_sizes
    cold = await _counts(bench, sizes[0])  # the gateway's first query since it started
    warm: dict[int, dict[str, int]] = {n: await _counts(bench, n) for n in sizes}
    for kind in KINDS:
        for n in sizes:
            measured = warm[n][kind]
            bound = design_bound(kind, dirs[kind], n)
            bench.rows.append(
                Row(
                    "1",
                    f"upstream requests/query, {TENANT_OF[kind]} ({kind}), N={n}",
                    str(measured),
                    f"bound {bound}, naive {naive(n)}",
                    f"{measured / bound:.2f}x bound",
                    "= bound, flat in N",
                )
            )
    extra = {kind: cold[kind] - warm[sizes[0]][kind] for kind in KINDS}
    bench.notes.append(
        "1: warm counts (the gateway's first query after start sent "
        + ", ".join(f"{TENANT_OF[k]} +{extra[k]}" for k in KINDS)
        + ": the Condeco token and scim2-server's ServiceProviderConfig, each read once). "
        f"Directory: 3 tenants x {mode.groups} groups x {MEMBERS} members, {mode.users} users each."
    )
