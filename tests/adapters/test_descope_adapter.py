"""The Descope adapter against the Descope emulator (SCIM groups + management API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from app.adapters.descope import (
    DescopeAdapter,
    decode_memberships,
    index_memberships,
    parse_external_groups,
    parse_memberships,
)
from app.adapters.scimwire import WireError
from app.emulators import DescopeEmulator, SeedGroup, SeedPerson
from app.errors import NotFound, UpstreamError
from app.models import BackendKind, GroupDraft, GroupName, GroupPatch, GroupRecord

PROJECT, TENANT, ACCESS, MGMT = "P2test", "T2acme", "access-key", "mgmt-key"
GROUPS_KEY = "GET /scim/v2/Groups"
MGMT_KEY = "POST /v1/mgmt/group/member/all"


@pytest.fixture
def emulator() -> DescopeEmulator:
    return DescopeEmulator(PROJECT, {TENANT: ACCESS}, MGMT)


@pytest.fixture
def users(emulator: DescopeEmulator) -> list[str]:
    people = [SeedPerson(f"Person {i}", f"p{i}@acme.test") for i in range(60)]
    groups = [
        SeedGroup("Evens", "ext-evens", tuple(range(0, 60, 2))),
        SeedGroup("Firsts", None, (0, 1, 2)),
        SeedGroup("Empty", None, ()),
        *(SeedGroup(f"Team {i:02}", None, (i,)) for i in range(40)),
    ]
    return emulator.load(TENANT, people, groups)


@pytest.fixture
async def client(emulator: DescopeEmulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://descope.test") as client:
        yield client


def adapter(client: httpx.AsyncClient, management_key: str | None = MGMT) -> DescopeAdapter:
    return DescopeAdapter(
        "acme",
        client,
        project_id=PROJECT,
        descope_tenant_id=TENANT,
        access_key=ACCESS,
        management_key=management_key,
    )


def group_ids(emulator: DescopeEmulator) -> dict[str, str]:
    return {g.display_name: g.id for g in emulator.store(TENANT).groups.values()}


async def test_capabilities_are_static_and_cost_no_request(
    client: httpx.AsyncClient, emulator: DescopeEmulator
) -> None:
    descope = adapter(client)
    caps = await descope.capabilities()
    assert (caps.patch, caps.sort, caps.etag) == (True, False, False)
    assert descope.kind is BackendKind.DESCOPE
    assert emulator.log.total == 0


async def test_forty_groups_load_in_one_scim_request(
    client: httpx.AsyncClient, emulator: DescopeEmulator, users: list[str]
) -> None:
    ids = [group_ids(emulator)[f"Team {i:02}"] for i in range(40)]
    results = await adapter(client).get_groups(ids)
    assert emulator.log.counts == {GROUPS_KEY: 1}
    assert [r.id for r in results if isinstance(r, GroupRecord)] == ids
    first = results[0]
    assert isinstance(first, GroupRecord)
    assert [m.value for m in first.members or ()] == [users[0]]
    assert first.created is not None


async def test_sixty_members_groups_load_in_one_management_call(
    client: httpx.AsyncClient, emulator: DescopeEmulator, users: list[str]
) -> None:
    named = group_ids(emulator)
    membership = await adapter(client).groups_of_members([*users, "U2nobody"])

    assert emulator.log.counts == {MGMT_KEY: 1}
    assert sorted(membership.group_ids[0]) == sorted(  # type: ignore[type-var]
        [named["Evens"], named["Firsts"], named["Team 00"]]
    )
    assert sorted(membership.group_ids[1]) == sorted([named["Firsts"], named["Team 01"]])  # type: ignore[type-var]
    assert membership.group_ids[58] == [named["Evens"]]
    assert membership.group_ids[59] == []
    assert membership.group_ids[-1] == []
    assert membership.records == []  # the management API has no externalId or meta
    # ... but it names every group it returns
    names = {n.id: n.display_name for n in membership.names}
    assert {names[g] for g in membership.group_ids[0]} == {"Evens", "Firsts", "Team 00"}  # type: ignore[union-attr]


async def test_members_come_from_the_management_call_with_login_ids(
    client: httpx.AsyncClient, emulator: DescopeEmulator, users: list[str]
) -> None:
    first, unknown = await adapter(client).get_members([users[0], "U2nobody"])
    assert emulator.log.counts == {MGMT_KEY: 1}
    assert not isinstance(first, Exception)
    assert (first.display, first.login_id, first.user_id) == ("Person 0", "p0@acme.test", users[0])
    assert isinstance(unknown, NotFound)


async def test_without_a_management_key_membership_uses_scim_filters(
    client: httpx.AsyncClient, emulator: DescopeEmulator, users: list[str]
) -> None:
    descope = adapter(client, management_key=None)
    membership = await descope.groups_of_members(users)
    members = await descope.get_members([users[3], "U2nobody"])

    # 60 members: two chunks of at most 50 terms; then one chunk for the member details
    assert emulator.log.counts == {GROUPS_KEY: 3}
    assert membership.group_ids[3] == [group_ids(emulator)["Team 03"]]
    assert {r.display_name for r in membership.records} >= {"Evens", "Firsts"}
    found, missing = members
    assert not isinstance(found, Exception) and found.display == "Person 3"
    assert found.login_id is None
    assert isinstance(missing, NotFound)


async def test_a_refused_management_key_fails_every_member_but_not_the_call(
    client: httpx.AsyncClient, users: list[str]
) -> None:
    descope = adapter(client, management_key="wrong-key")
    membership = await descope.groups_of_members(users[:2])
    assert all(isinstance(ids, UpstreamError) for ids in membership.group_ids)
    error = membership.group_ids[0]
    assert isinstance(error, UpstreamError)
    assert error.status == 401 and error.tenant == "acme"
    assert "wrong-key" not in error.message


async def test_a_group_is_created_patched_and_deleted_with_echoed_members(
    client: httpx.AsyncClient, emulator: DescopeEmulator, users: list[str]
) -> None:
    descope = adapter(client)
    created = await descope.create_group(GroupDraft("Ops", "ext-ops", (users[0], users[1])))
    assert isinstance(created, GroupRecord)
    assert [m.display for m in created.members or ()] == ["Person 0", "Person 1"]

    patched = await descope.patch_group(
        created.id, GroupPatch(remove_members=(users[0],), external_id="")
    )
    assert patched is not None
    assert [m.value for m in patched.members or ()] == [users[1]]
    assert patched.external_id is None

    await descope.delete_group(created.id)
    [gone] = await descope.get_groups([created.id])
    assert isinstance(gone, NotFound)


async def test_descope_numeric_error_status_is_understood(
    client: httpx.AsyncClient, users: list[str]
) -> None:
    with pytest.raises(NotFound) as caught:
        await adapter(client).delete_group("G-missing")
    assert caught.value.status == 404


def test_external_groups_need_an_id_and_members_need_a_user_id() -> None:
    parsed = parse_external_groups(
        {"groups": [{"id": "g1", "members": [{"loginId": "a"}, {"userId": "u1", "display": "U"}]}]}
    )
    assert [(m.user_id, m.display) for m in parsed[0].members] == [("u1", "U")]
    assert parse_external_groups({}) == []
    with pytest.raises(WireError):
        parse_external_groups({"groups": [{"display": "no id"}]})


def test_memberships_read_the_same_answer_by_the_same_rules() -> None:
    answer = {
        "groups": [
            {"id": "g1", "members": [{"loginId": "a"}, {"userId": "u1"}, {"userId": ""}]},
            {"id": "g2", "display": "Two", "members": [{"userId": "u1"}, {"userId": "u2"}]},
            {"id": "g3"},
        ]
    }
    assert parse_memberships(answer) == [
        ("g1", None, ["u1"]),
        ("g2", "Two", ["u1", "u2"]),
        ("g3", None, []),
    ]
    assert [[m.user_id for m in g.members] for g in parse_external_groups(answer)] == [
        ["u1"],
        ["u1", "u2"],
        [],
    ]
    assert index_memberships(answer) == (
        {"u1": ["g1", "g2"], "u2": ["g2"]},
        [GroupName("g2", "Two")],
    )
    assert parse_memberships({}) == []
    for bad in (
        {"groups": [{"display": "no id"}]},
        {"groups": "g1"},
        [],
        {"groups": [{"id": "g", "members": 3}]},
    ):
        with pytest.raises(WireError):
            parse_memberships(bad)


@pytest.mark.parametrize(
    "answer",
    [
        {"groups": [{"id": "g1", "display": "One", "members": [{"userId": "u1", "loginId": "a"}]}]},
        {"groups": [{"id": "g1", "display": "", "members": None}, {"id": "g2"}]},
        {
            "groups": [
                {"id": "g1", "display": "One", "members": [{"userId": "u1"}, {"userId": "u1"}]},
                {"id": "g2", "display": "Two", "members": [{"userId": "u2"}, {"userId": "u1"}]},
                {"id": "g1", "display": "Again", "members": [{"userId": "u3"}]},
            ]
        },
        {"groups": None},
        {},
        {"groups": [{"id": "g1", "members": [{"userId": 7}, {"userId": "u2"}, "x", {}]}]},
        {"groups": [{"id": "g1", "display": 5, "members": [{"userId": ""}]}]},
        {"groups": [{"id": "", "members": []}]},
        {"groups": [{"id": 3}]},
        {"groups": [{"id": "g", "members": 3}]},
        {"groups": "g1"},
        [],
        "text",
    ],
)
def test_memberships_decoded_from_bytes_read_as_the_checked_parser_reads(answer: object) -> None:
    def read(parse: Any) -> object:
        try:
            return parse()
        except WireError:
            return WireError

    body = orjson.dumps(answer)
    assert read(lambda: parse_memberships(decode_memberships(body))) == read(
        lambda: parse_memberships(orjson.loads(body))
    )
    # The one-pass index of a decoded answer, against the checked parser's lists indexed.
    assert read(lambda: index_memberships(decode_memberships(body))) == read(
        lambda: index_memberships(orjson.loads(body))
    )


def test_a_well_formed_membership_answer_is_decoded_into_structs_not_dicts() -> None:
    # The fast path above must be the one a backend's usual answer takes.
    answer = {
        "groups": [
            {"id": "g1", "display": "One", "members": [{"userId": "u1", "loginId": "a"}]},
            {"id": "g2", "members": [{"userId": "u1", "display": "U"}, {"userId": "u2"}]},
            {"id": "g3"},
        ]
    }
    decoded = decode_memberships(orjson.dumps(answer))
    assert not isinstance(decoded, dict)
    assert index_memberships(decoded) == (
        {"u1": ["g1", "g2"], "u2": ["g2"]},
        [GroupName("g1", "One")],
    )


@pytest.mark.parametrize("management_key", [MGMT, None], ids=["management API", "SCIM only"])
async def test_a_small_tenant_s_whole_membership_answers_as_asking_by_member_does(
    client: httpx.AsyncClient,
    emulator: DescopeEmulator,
    users: list[str],
    management_key: str | None,
) -> None:
    descope = adapter(client, management_key=management_key)
    assert await descope.tenant_membership() is None  # its size is not known yet
    assert emulator.log.total == 0

    await descope.search_groups(None, 1, 10)  # 43 groups: small
    emulator.log.reset()
    whole = await descope.tenant_membership()
    assert whole is not None
    # one request: the management call without userIds, or one SCIM page of every group
    assert emulator.log.counts == ({MGMT_KEY: 1} if management_key else {GROUPS_KEY: 1})
    asked = await descope.groups_of_members([*users, "U2nobody"])
    assert whole.of([*users, "U2nobody"]).group_ids == asked.group_ids
    assert whole.of(["U2nobody"]).group_ids == [[]]
