"""The generic adapter against a real RFC 7644 server (scim2-server, in memory, over ASGI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from scim2_models import ScimFilter

from app.adapters.scim import SCAN_PAGE, ScimAdapter
from app.errors import NotFound, PreconditionFailed, UpstreamError
from app.models import BackendKind, GroupDraft, GroupPatch, GroupRecord
from tests.adapters.conftest import TOKEN

if TYPE_CHECKING:  # fixtures' types, defined in conftest.py
    from tests.adapters.conftest import Counted, Seeder


async def test_capabilities_are_read_once_from_the_service_provider_config(
    scim: ScimAdapter, sent: Counted
) -> None:
    first = await scim.capabilities()
    second = await scim.capabilities()
    assert first is second
    assert sent.counts["GET /v2/ServiceProviderConfig"] == 1
    assert (first.patch, first.sort, first.etag, first.filter_max_results) == (
        True,
        True,
        True,
        1000,
    )
    assert scim.kind is BackendKind.SCIM


async def test_a_page_of_groups_is_sorted_and_may_leave_members_out(
    scim: ScimAdapter, seeded: Seeder, sent: Counted
) -> None:
    user = await seeded.user("ann")
    for name in ("Charlie", "alpha", "Bravo"):
        await seeded.group(name, [user])
    await scim.capabilities()
    sent.reset()

    page = await scim.search_groups(None, 1, 2, include_members=False)

    assert [g.display_name for g in page.groups] == ["alpha", "Bravo"]
    assert page.total_results == 3
    assert all(g.members is None for g in page.groups)
    assert sent.requests[0].url.params["excludedAttributes"] == "members"
    assert sent.requests[0].url.params["sortBy"] == "displayName"

    full = await scim.search_groups('displayName eq "Bravo"', 1, 10)
    assert [m.value for m in full.groups[0].members or ()] == [user]


async def test_forty_groups_load_in_one_request_in_the_order_asked(
    scim: ScimAdapter, seeded: Seeder, sent: Counted
) -> None:
    ids = [await seeded.group(f"g{i:02}") for i in range(40)]
    await scim.capabilities()
    sent.reset()

    wanted = [*reversed(ids), "missing"]
    results = await scim.get_groups(wanted)

    assert sent.counts["GET /v2/Groups"] == 1
    assert [r.id for r in results[:-1] if isinstance(r, GroupRecord)] == wanted[:-1]
    assert isinstance(results[-1], NotFound)
    assert results[-1].tenant == "acme"


async def test_a_hundred_and_twenty_groups_load_in_three_concurrent_chunks(
    scim: ScimAdapter, seeded: Seeder, sent: Counted
) -> None:
    ids = [await seeded.group(f"g{i:03}") for i in range(120)]
    await scim.capabilities()
    sent.reset()

    results = await scim.get_groups(ids)

    assert sent.counts["GET /v2/Groups"] == 3
    assert [r.id for r in results if isinstance(r, GroupRecord)] == ids


async def test_one_group_is_read_by_its_url(
    scim: ScimAdapter, seeded: Seeder, sent: Counted
) -> None:
    group_id = await seeded.group("solo", external_id="ext")
    [group] = await scim.get_groups([group_id])
    assert isinstance(group, GroupRecord)
    assert (group.display_name, group.external_id, group.version) == ("solo", "ext", 'W/"1"')
    assert group.created is not None and group.created.tzinfo is not None
    assert sent.counts[f"GET /v2/Groups/{group_id}"] == 1


async def test_a_hostile_id_is_one_value_and_matches_nothing(
    scim: ScimAdapter, seeded: Seeder
) -> None:
    await seeded.group("a")
    await seeded.group("b")
    hostile = 'x" or id pr or id eq "\\'
    results = await scim.get_groups([hostile, "other"])
    assert all(isinstance(r, NotFound) for r in results)


async def test_a_display_name_with_quote_and_backslash_round_trips_through_a_filter(
    scim: ScimAdapter, seeded: Seeder
) -> None:
    name = 'Sales "EU" \\ R&D'
    await seeded.group(name)
    await seeded.group("Sales")
    page = await scim.search_groups(f"displayName eq {ScimFilter.quote(name)}", 1, 10)
    assert [g.display_name for g in page.groups] == [name]


async def test_sixty_members_groups_load_in_one_search_request(
    scim: ScimAdapter, seeded: Seeder, sent: Counted
) -> None:
    users = [await seeded.user(f"user{i}") for i in range(60)]
    evens = await seeded.group("evens", users[0::2])
    firsts = await seeded.group("firsts", users[:3])
    await seeded.group("empty")
    await scim.capabilities()
    sent.reset()

    membership = await scim.groups_of_members([*users, "nobody"])

    assert sent.counts == {"POST /v2/Groups/.search": 1}
    assert sorted(membership.group_ids[0]) == sorted([evens, firsts])  # type: ignore[type-var]
    assert membership.group_ids[1] == [firsts]
    assert membership.group_ids[3] == []
    assert membership.group_ids[4] == [evens]
    assert membership.group_ids[-1] == []
    assert sorted(r.id for r in membership.records) == sorted([evens, firsts])


async def test_a_small_tenant_is_read_whole_in_one_listing_instead_of_a_search(
    scim: ScimAdapter, seeded: Seeder, sent: Counted
) -> None:
    users = [await seeded.user(f"user{i}") for i in range(6)]
    for i in range(5):
        await seeded.group(f"g{i}", users[i : i + 2])
    assert await scim.tenant_membership() is None  # its size is not known yet
    await scim.search_groups(None, 1, 2)  # the listing tells: 5 groups
    sent.reset()

    whole = await scim.tenant_membership()

    assert whole is not None
    assert sent.counts == {"GET /v2/Groups": 1}  # one page of maxResults, no .search
    [listing] = sent.requests
    assert listing.url.params["count"] == "1000" and "filter" not in listing.url.params
    asked = await scim.groups_of_members(users)
    assert whole.of(users).group_ids == asked.group_ids
    assert sent.counts["POST /v2/Groups/.search"] == 1


async def test_a_tenant_above_the_whole_read_limit_is_asked_by_search(
    scim_client: httpx.AsyncClient, seeded: Seeder, sent: Counted
) -> None:
    scim = ScimAdapter("acme", scim_client, token=TOKEN, whole_tenant_groups=4)
    for i in range(5):
        await seeded.group(f"g{i}")
    await scim.search_groups(None, 1, 2)
    sent.reset()
    assert await scim.tenant_membership() is None
    assert sent.counts == {}


async def test_a_batch_reads_a_small_tenant_whole_when_that_is_fewer_requests(
    scim: ScimAdapter, seeded: Seeder, sent: Counted
) -> None:
    ids = [await seeded.group(f"g{i}") for i in range(5)]
    await scim.search_groups(None, 1, 2)  # the listing tells: 5 groups
    asked = [*ids, *(f"missing-{i}" for i in range(55))]  # two or-chunks of 50
    sent.reset()

    found = await scim.get_groups(asked)

    assert sent.counts == {"GET /v2/Groups": 1}  # one scan instead of two chunks
    assert [g.id for g in found[:5] if isinstance(g, GroupRecord)] == ids
    assert all(isinstance(g, NotFound) for g in found[5:])


async def test_a_scan_is_priced_at_two_hundred_groups_a_request_whatever_the_page(
    scim: ScimAdapter, seeded: Seeder, sent: Counted
) -> None:
    # scim2-server pages by 1,000: one request would read this tenant, but it would read
    # 201 groups where two or-chunks read what was asked; priced at 200, that is 2 vs 2.
    ids = [await seeded.group(f"g{i:03}") for i in range(SCAN_PAGE + 1)]
    await scim.search_groups(None, 1, 1)
    sent.reset()

    found = await scim.get_groups(ids[:60])

    assert sent.counts == {"GET /v2/Groups": 2}
    assert all("filter" in r.url.params for r in sent.requests)
    assert [g.id for g in found if isinstance(g, GroupRecord)] == ids[:60]


async def test_members_are_users_with_login_id_from_username(
    scim: ScimAdapter, seeded: Seeder, sent: Counted
) -> None:
    ann = await seeded.user("ann")
    bob = await seeded.user("bob")
    sent.reset()

    ann_record, missing, bob_record = await scim.get_members([ann, "ghost", bob])

    assert sent.counts["GET /v2/Users"] == 1
    assert not isinstance(ann_record, Exception)
    assert (ann_record.display, ann_record.login_id, ann_record.user_id) == ("Ann", "ann", ann)
    assert isinstance(missing, NotFound)
    assert not isinstance(bob_record, Exception) and bob_record.login_id == "bob"


async def test_a_group_is_created_replaced_patched_and_deleted(
    scim: ScimAdapter, seeded: Seeder
) -> None:
    ann = await seeded.user("ann")
    bob = await seeded.user("bob")

    created = await scim.create_group(GroupDraft("Ops", "ext-ops", (ann,)))
    assert isinstance(created, GroupRecord)
    assert [m.value for m in created.members or ()] == [ann]

    replaced = await scim.replace_group(
        created.id, GroupDraft("Ops2", None, (ann, bob)), if_match=created.version
    )
    assert replaced is not None and replaced.display_name == "Ops2"
    assert replaced.external_id is None

    patched = await scim.patch_group(
        created.id, GroupPatch(remove_members=(ann,), external_id="e2"), if_match=replaced.version
    )
    assert patched is None  # scim2-server answers 204: the caller reads it back
    [after] = await scim.get_groups([created.id])
    assert isinstance(after, GroupRecord)
    assert [m.value for m in after.members or ()] == [bob]
    assert after.external_id == "e2"

    await scim.delete_group(created.id)
    with pytest.raises(NotFound):
        await scim.delete_group(created.id)


async def test_a_stale_if_match_is_a_failed_precondition(scim: ScimAdapter, seeded: Seeder) -> None:
    created = await scim.create_group(GroupDraft("Ops"))
    assert isinstance(created, GroupRecord)
    await scim.patch_group(created.id, GroupPatch(display_name="Ops2"))
    with pytest.raises(PreconditionFailed) as caught:
        await scim.patch_group(
            created.id, GroupPatch(display_name="Ops3"), if_match=created.version
        )
    assert caught.value.tenant == "acme"
    with pytest.raises(PreconditionFailed):
        await scim.delete_group(created.id, if_match=created.version)


async def test_a_refused_token_is_an_upstream_error_that_does_not_show_the_token(
    scim_client: httpx.AsyncClient,
) -> None:
    adapter = ScimAdapter("acme", scim_client, token="wrong-secret")
    with pytest.raises(UpstreamError) as caught:
        await adapter.search_groups(None, 1, 10)
    assert caught.value.status == 401
    assert caught.value.extensions["code"] == "UPSTREAM_ERROR"
    assert "wrong-secret" not in str(caught.value)
