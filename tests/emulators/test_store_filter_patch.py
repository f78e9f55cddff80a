"""The shared group store: filters (RFC 7644 §3.4.2.2), paging (§3.4.2.4) and PATCH (§3.5.2)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from app.emulators import GroupStore, ScimHTTPError, StoredUser
from app.emulators.patching import apply_patch
from app.emulators.store import parse_paging

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def store() -> GroupStore:
    numbers = itertools.count(1)
    store = GroupStore(new_id=lambda: f"g{next(numbers)}")
    for user_id, name in (("u1", "Ada"), ("u2", "Ben"), ("u3", "Chloe")):
        store.add_user(StoredUser(user_id, name, f"{name.lower()}@x.example.com"))
    store.create("HR", "ext-hr", [("u1", None), ("u2", None)])
    store.create("Engineering", None, [("u2", None), ("u3", None)])
    store.create("Sales EMEA", "ext-sales", [])
    return store


def names(store: GroupStore, scim_filter: str) -> list[str]:
    return [g.display_name for g in store.search(scim_filter, 1, 100).groups]


@pytest.mark.parametrize(
    ("scim_filter", "expected"),
    [
        ('displayName eq "hr"', ["HR"]),
        ('DISPLAYNAME eq "Engineering"', ["Engineering"]),
        ('id eq "g2"', ["Engineering"]),
        ('id eq "G2"', []),
        ('externalId eq "ext-sales"', ["Sales EMEA"]),
        ('externalId eq "EXT-SALES"', []),
        ('members eq "u2"', ["HR", "Engineering"]),
        ('members.value eq "u3"', ["Engineering"]),
        ('members[value eq "u1"]', ["HR"]),
        ('members[display co "ch"]', ["Engineering"]),
        ('displayName sw "s" and members pr', []),
        ("not (members pr)", ["Sales EMEA"]),
        ('displayName co "ee" or id eq "g1"', ["HR", "Engineering"]),
        ('displayName ne "HR"', ["Engineering", "Sales EMEA"]),
        ('displayName ew "emea"', ["Sales EMEA"]),
        ('members ne "u2"', ["Sales EMEA"]),
        ("externalId pr", ["HR", "Sales EMEA"]),
        ('id eq "g3" or members eq "u1"', ["HR", "Sales EMEA"]),
        ('members eq "u2" and displayName eq "HR"', ["HR"]),
        ('urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "HR"', ["HR"]),
    ],
)
def test_filters_match_like_rfc_7644(
    store: GroupStore, scim_filter: str, expected: list[str]
) -> None:
    assert names(store, scim_filter) == expected


@pytest.mark.parametrize(
    "scim_filter", ["displayName eqq", 'nickName eq "x"', 'emails[type eq "w"]']
)
def test_bad_or_unsupported_filters_are_400_invalid_filter(
    store: GroupStore, scim_filter: str
) -> None:
    with pytest.raises(ScimHTTPError) as caught:
        store.search(scim_filter, 1, 10)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidFilter")


def test_an_or_of_200_terms_over_5000_groups_answers_in_store_order() -> None:
    numbers = itertools.count(1)
    store = GroupStore(new_id=lambda: f"g{next(numbers)}")
    for n in range(5000):
        store.create(f"Group {n}", None, [(f"u{n % 700}", None), (f"u{(n * 7) % 700}", None)])
    ids = " or ".join(f'id eq "g{n}"' for n in range(5000, 0, -25))
    members = " or ".join(f'members eq "u{n}"' for n in range(200))
    by_id = store.search(ids, 1, 1000)
    by_member = store.search(members, 1, 5000)
    assert by_id.total == 200
    assert [g.id for g in by_id.groups][:2] == ["g25", "g50"]
    assert by_member.total == sum(
        1 for g in store.groups.values() if any(int(v[1:]) < 200 for v in g.members)
    )


def test_paging_is_one_based_and_total_counts_every_match(store: GroupStore) -> None:
    page = store.search(None, 0, 2)
    assert page.start_index == 1
    assert [g.display_name for g in page.groups] == ["HR", "Engineering"]
    assert page.total == 3
    assert store.search(None, 3, 2).groups[0].display_name == "Sales EMEA"
    assert store.search(None, 9, 2).groups == []


def test_sorting_by_display_name(store: GroupStore) -> None:
    page = store.search(None, 1, 10, sort_by="displayName", descending=True)
    assert [g.display_name for g in page.groups] == ["Sales EMEA", "HR", "Engineering"]


def test_paging_parameters_are_clamped_and_capped() -> None:
    assert parse_paging({"startIndex": "-4", "count": "900"}, default_count=50, max_count=200) == (
        1,
        200,
    )
    assert parse_paging({"count": "-1"}, default_count=50, max_count=200) == (1, 0)
    assert parse_paging({}, default_count=50, max_count=200) == (1, 50)
    with pytest.raises(ScimHTTPError):
        parse_paging({"count": "ten"}, default_count=50, max_count=200)


def patch(store: GroupStore, group_id: str, *operations: dict[str, Any]) -> list[str]:
    patched = apply_patch(
        store.get(group_id), {"schemas": [PATCH], "Operations": list(operations)}, store
    )
    store.save(patched)
    return list(store.get(group_id).members)


def test_patch_adds_members_once_and_names_them(store: GroupStore) -> None:
    op = {"op": "Add", "path": "members", "value": [{"value": "u3"}, {"value": "u1"}]}
    assert patch(store, "g1", op) == ["u1", "u2", "u3"]
    assert store.get("g1").members["u3"] == "Chloe"
    assert names(store, 'members eq "u3"') == ["HR", "Engineering"]  # index follows


def test_patch_removes_by_filter_with_standard_and_semantics(store: GroupStore) -> None:
    both = {"op": "remove", "path": 'members[value eq "u1" and value eq "u2"]'}
    assert patch(store, "g1", both) == ["u1", "u2"]  # no member has both values
    either = {"op": "remove", "path": 'members[value eq "u1" or value eq "u2"]'}
    assert patch(store, "g1", either) == []


def test_patch_removes_all_members_or_listed_ones(store: GroupStore) -> None:
    assert patch(store, "g2", {"op": "remove", "path": "members", "value": [{"value": "u2"}]}) == [
        "u3"
    ]
    assert patch(store, "g2", {"op": "remove", "path": "members"}) == []


def test_patch_without_path_sets_attributes(store: GroupStore) -> None:
    op = {
        "op": "replace",
        "value": {"displayName": "People", "externalId": "p", "members": [{"value": "u3"}]},
    }
    assert patch(store, "g1", op) == ["u3"]
    assert (store.get("g1").display_name, store.get("g1").external_id) == ("People", "p")
    assert names(store, 'displayName eq "people"') == ["People"]
    patch(store, "g1", {"op": "remove", "path": "externalId"})
    assert store.get("g1").external_id is None
    assert store.get("g1").version == 3


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "add", "path": "title", "value": "x"}, "invalidPath"),
        ({"op": "add", "path": "members[value eq", "value": "x"}, "invalidPath"),
        ({"op": "add", "path": 'members[value eq "u1"]', "value": "x"}, "invalidPath"),
        ({"op": "remove"}, "noTarget"),
        ({"op": "move", "path": "members"}, "invalidValue"),
        ({"op": "remove", "path": "displayName"}, "invalidValue"),
        ({"op": "add", "path": "members", "value": [{"display": "no value"}]}, "invalidValue"),
        ({"op": "replace", "value": "not an object"}, "invalidValue"),
    ],
)
def test_nonsense_patches_are_refused_with_400(
    store: GroupStore, operation: dict[str, Any], scim_type: str
) -> None:
    with pytest.raises(ScimHTTPError) as caught:
        patch(store, "g1", operation)
    assert (caught.value.status, caught.value.scim_type) == (400, scim_type)
    assert list(store.get("g1").members) == ["u1", "u2"]  # nothing half-applied


def test_a_body_without_operations_is_invalid_syntax(store: GroupStore) -> None:
    with pytest.raises(ScimHTTPError) as caught:
        apply_patch(store.get("g1"), {"schemas": [PATCH]}, store)
    assert caught.value.scim_type == "invalidSyntax"
