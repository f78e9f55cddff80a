"""The Condeco adapter against the Condeco emulator: token handling, paging and its answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import pytest

from app.adapters.condeco import CondecoAdapter
from app.emulators import CondecoEmulator, SeedGroup, SeedPerson
from app.errors import NotFound, UpstreamError
from app.models import BackendKind, GroupDraft, GroupPatch, GroupRecord
from tests.clock import Clock

CLIENT_ID, SECRET = "globex-client", "globex-secret"
BASE = "http://condeco.test"
TOKEN_KEY = "POST /api/V1/token"
LIST_KEY = "GET /scim/api/V1/groups"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> CondecoEmulator:
    return CondecoEmulator(CLIENT_ID, SECRET, token_ttl=3600, clock=clock)


@pytest.fixture
def users(emulator: CondecoEmulator) -> list[str]:
    people = [SeedPerson(f"Person {i}", f"p{i}@globex.test") for i in range(60)]
    groups = [
        SeedGroup("Evens", "ext-evens", tuple(range(0, 60, 2))),
        SeedGroup("Firsts", None, (0, 1, 2)),
        *(SeedGroup(f"Team {i:02}", None, (i,)) for i in range(10)),
    ]
    return emulator.load(people, groups)


@pytest.fixture
async def client(emulator: CondecoEmulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


@pytest.fixture
def condeco(client: httpx.AsyncClient, clock: Clock) -> CondecoAdapter:
    return CondecoAdapter(
        "globex",
        client,
        token_url=f"{BASE}/api/V1/token",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        clock=clock,
    )


def named(emulator: CondecoEmulator) -> dict[str, str]:
    return {g.display_name: g.id for g in emulator.store.groups.values()}


async def test_fifty_concurrent_calls_fetch_one_token(
    condeco: CondecoAdapter, emulator: CondecoEmulator, users: list[str]
) -> None:
    emulator.faults.latency = 0.01  # every request in flight at once
    pages = await asyncio.gather(*(condeco.search_groups(None, 1, 5) for _ in range(50)))
    assert emulator.log.counts == {TOKEN_KEY: 1, LIST_KEY: 50}
    assert all(page.total_results == 12 for page in pages)
    assert condeco.kind is BackendKind.CONDECO


async def test_the_token_is_renewed_before_it_expires(
    condeco: CondecoAdapter, emulator: CondecoEmulator, clock: Clock, users: list[str]
) -> None:
    await condeco.search_groups(None, 1, 1)
    clock.now += 3000  # still valid, and outside the renewal margin
    await condeco.search_groups(None, 1, 1)
    assert emulator.log.counts[TOKEN_KEY] == 1
    clock.now += 580  # 20 s before expiry: inside the margin
    await condeco.search_groups(None, 1, 1)
    assert emulator.log.counts == {TOKEN_KEY: 2, LIST_KEY: 3}  # renewed without any 401


async def test_a_revoked_token_is_renewed_once_and_the_request_retried_once(
    condeco: CondecoAdapter, emulator: CondecoEmulator, users: list[str]
) -> None:
    await condeco.search_groups(None, 1, 1)
    emulator.revoke_tokens()
    emulator.faults.latency = 0.01  # all 20 meet the 401 together
    pages = await asyncio.gather(*(condeco.search_groups(None, 1, 1) for _ in range(20)))
    assert all(p.total_results == 12 for p in pages)
    assert emulator.log.counts == {TOKEN_KEY: 2, LIST_KEY: 41}


async def test_a_second_401_is_not_retried_again(
    condeco: CondecoAdapter, emulator: CondecoEmulator, users: list[str]
) -> None:
    emulator.token_ttl = 0  # every token the emulator issues is refused
    with pytest.raises(UpstreamError) as caught:
        await condeco.search_groups(None, 1, 1)
    assert caught.value.status == 401
    assert emulator.log.counts == {TOKEN_KEY: 2, LIST_KEY: 2}


async def test_an_empty_401_from_the_scim_api_is_retried_with_a_new_token(
    condeco: CondecoAdapter, emulator: CondecoEmulator, users: list[str]
) -> None:
    await condeco.search_groups(None, 1, 1)
    emulator.faults.unauthorized_next(1)
    page = await condeco.search_groups(None, 1, 1)
    assert page.total_results == 12
    assert emulator.log.counts == {TOKEN_KEY: 2, LIST_KEY: 3}


async def test_refused_client_credentials_are_an_upstream_error_without_the_secret(
    client: httpx.AsyncClient, emulator: CondecoEmulator
) -> None:
    condeco = CondecoAdapter(
        "globex",
        client,
        token_url=f"{BASE}/api/V1/token",
        client_id=CLIENT_ID,
        client_secret="nope-secret",
    )
    with pytest.raises(UpstreamError) as caught:
        await condeco.search_groups(None, 1, 10)
    assert (caught.value.status, caught.value.tenant) == (401, "globex")
    assert "nope-secret" not in str(caught.value)
    assert emulator.log.counts == {TOKEN_KEY: 1}


async def test_the_token_request_is_a_password_grant_form(
    condeco: CondecoAdapter, client: httpx.AsyncClient
) -> None:
    bodies: list[bytes] = []

    async def keep(request: httpx.Request) -> None:
        if request.url.path.endswith("/token"):
            bodies.append(request.read())

    client.event_hooks["request"].append(keep)
    await condeco.search_groups(None, 1, 1)
    assert parse_qs(bodies[0].decode()) == {
        "scimClientId": [CLIENT_ID],
        "scimClientSecret": [SECRET],
        "grantType": ["password"],
    }


async def test_paging_advances_by_the_groups_each_page_actually_held(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    small = CondecoEmulator(CLIENT_ID, SECRET, max_page_size=3, clock=clock)
    small.load([], [SeedGroup(f"g{i}", None, ()) for i in range(7)])
    ids = list(small.store.groups)
    transport = httpx.ASGITransport(app=small.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as capped:
        condeco = CondecoAdapter(
            "globex",
            capped,
            token_url=f"{BASE}/api/V1/token",
            client_id=CLIENT_ID,
            client_secret=SECRET,
        )
        results = await condeco.get_groups(ids)
    assert [r.id for r in results if isinstance(r, GroupRecord)] == ids
    starts = [parse_qs(q)["startIndex"] for key, q in small.log.queries if key == LIST_KEY]
    assert starts == [["1"], ["4"], ["7"]]  # asked for 200 each time, got 3


async def test_groups_load_by_id_with_zone_less_dates_read_as_utc(
    condeco: CondecoAdapter, emulator: CondecoEmulator, users: list[str]
) -> None:
    ids = named(emulator)
    results = await condeco.get_groups([ids["Firsts"], "G999", ids["Evens"]])
    firsts, missing, evens = results
    assert isinstance(firsts, GroupRecord) and isinstance(evens, GroupRecord)
    assert [m.value for m in firsts.members or ()] == users[:3]
    assert evens.external_id == "ext-evens"
    assert firsts.created is not None and firsts.created.utcoffset() is not None
    assert isinstance(missing, NotFound)
    assert emulator.log.counts[LIST_KEY] == 1


async def test_members_groups_load_in_chunks_of_fifty(
    condeco: CondecoAdapter, emulator: CondecoEmulator, users: list[str]
) -> None:
    ids = named(emulator)
    membership = await condeco.groups_of_members(users)
    assert emulator.log.counts[LIST_KEY] == 2
    assert sorted(membership.group_ids[0]) == sorted([ids["Evens"], ids["Firsts"], ids["Team 00"]])  # type: ignore[type-var]
    assert membership.group_ids[59] == []
    assert {r.id for r in membership.records} == set(ids.values())


async def test_members_are_described_by_the_groups_that_list_them(
    condeco: CondecoAdapter, emulator: CondecoEmulator, users: list[str]
) -> None:
    ann, nobody = await condeco.get_members([users[1], "999"])
    assert not isinstance(ann, Exception)
    assert (ann.id, ann.display, ann.user_id, ann.login_id) == (
        users[1],
        "Person 1",
        users[1],
        None,
    )
    assert isinstance(nobody, NotFound)
    assert emulator.log.counts[LIST_KEY] == 1


async def test_writes_return_ids_or_nothing_as_condeco_answers_without_members(
    condeco: CondecoAdapter, emulator: CondecoEmulator, users: list[str]
) -> None:
    new_id = await condeco.create_group(GroupDraft("Ops", "ext-ops", (users[0], users[1])))
    assert isinstance(new_id, str) and new_id.startswith("G")

    replaced = await condeco.replace_group(new_id, GroupDraft("Ops2", None, tuple(users[:4])))
    assert replaced is None
    patched = await condeco.patch_group(new_id, GroupPatch(remove_members=(users[0], users[2])))
    assert patched is None

    [group] = await condeco.get_groups([new_id])
    assert isinstance(group, GroupRecord)
    assert (group.display_name, [m.value for m in group.members or ()]) == (
        "Ops2",
        [users[1], users[3]],
    )
    await condeco.delete_group(new_id)
    with pytest.raises(NotFound):
        await condeco.delete_group(new_id)


async def test_a_member_value_with_quote_and_backslash_round_trips(
    condeco: CondecoAdapter, emulator: CondecoEmulator, users: list[str]
) -> None:
    odd = 'x" or members pr or "\\'
    new_id = await condeco.create_group(GroupDraft("Odd", None, (odd,)))
    membership = await condeco.groups_of_members([odd])
    assert membership.group_ids == [[new_id]]
    await condeco.patch_group(new_id, GroupPatch(remove_members=(odd,)))
    assert (await condeco.groups_of_members([odd])).group_ids == [[]]


async def test_capabilities_are_static_and_cost_no_request(
    condeco: CondecoAdapter, emulator: CondecoEmulator
) -> None:
    caps = await condeco.capabilities()
    assert (caps.max_page_size, caps.sort, caps.etag) == (200, False, False)
    assert emulator.log.total == 0


async def test_a_small_tenant_s_membership_is_one_page_and_stops_there_once_it_has_grown(
    condeco: CondecoAdapter, emulator: CondecoEmulator, users: list[str]
) -> None:
    assert await condeco.tenant_membership() is None  # its size is not known yet
    await condeco.search_groups(None, 1, 5)  # 12 groups
    emulator.log.reset()
    whole = await condeco.tenant_membership()
    assert whole is not None
    assert emulator.log.counts == {LIST_KEY: 1}
    asked = await condeco.groups_of_members(users)
    assert whole.of(users).group_ids == asked.group_ids

    for i in range(200):  # the tenant grows past one page (200) after it was listed
        emulator.store.create(f"New {i:03}", None, [(users[0], None)])
    emulator.log.reset()
    assert await condeco.tenant_membership() is None
    assert emulator.log.counts == {LIST_KEY: 1}  # the first page told it; no more are read
    assert await condeco.tenant_membership() is None  # and now it knows: nothing is sent
    assert emulator.log.counts == {LIST_KEY: 1}
