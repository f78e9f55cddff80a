"""The pure SCIM wire functions: parsing answers and building requests, no network."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scim2_models import ScimFilter

from app.adapters import scimwire as wire
from app.models import GroupDraft, GroupPatch, MemberRef

CONDECO_G602 = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "id": "G602",
    "externalId": "155fcf8c",
    "meta": {"resourceType": "Group", "created": "2021-03-09T11:52:17.777"},
    "displayName": "SCIMGroup",
}


def test_a_condeco_group_without_members_has_none() -> None:
    group = wire.parse_group(CONDECO_G602)
    assert group.id == "G602"
    assert group.display_name == "SCIMGroup"
    assert group.external_id == "155fcf8c"
    assert group.members == ()


def test_absent_members_are_unknown_when_the_request_excluded_them() -> None:
    assert wire.parse_group(CONDECO_G602, members_excluded=True).members is None


def test_an_empty_members_list_is_empty_even_when_excluded() -> None:
    group = wire.parse_group({**CONDECO_G602, "members": []}, members_excluded=True)
    assert group.members == ()


def test_members_keep_value_display_and_type() -> None:
    group = wire.parse_group(
        {**CONDECO_G602, "members": [{"value": "265", "display": "Ann", "type": "User"}]}
    )
    assert group.members == (MemberRef("265", "Ann", "User"),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-03-09T11:52:17.777", datetime(2021, 3, 9, 11, 52, 17, 777000, tzinfo=UTC)),
        ("2020-07-02T12:35:01.33", datetime(2020, 7, 2, 12, 35, 1, 330000, tzinfo=UTC)),
        ("2011-05-13T04:42:34Z", datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)),
        ("2011-05-13T06:42:34+02:00", datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)),
        ("2011-05-13", datetime(2011, 5, 13, tzinfo=UTC)),
        ("2011-05-13 04:42", datetime(2011, 5, 13, 4, 42, tzinfo=UTC)),
        ("20110513T044234", datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)),
    ],
)
def test_timestamps_parse_with_or_without_zone_and_fraction(text: str, expected: datetime) -> None:
    parsed = wire.parse_time(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize("value", [{}, None, "", "yesterday", 17])
def test_unreadable_timestamps_are_unknown(value: object) -> None:
    assert wire.parse_time(value) is None


def test_meta_version_becomes_the_record_version() -> None:
    group = wire.parse_group({**CONDECO_G602, "meta": {"version": 'W/"3"'}})
    assert group.version == 'W/"3"'
    assert group.created is None


@pytest.mark.parametrize(
    "payload",
    [[], {"displayName": "no id"}, {"id": "G1", "members": "x"}, {"id": "G1", "members": [{}]}],
)
def test_payloads_of_the_wrong_shape_are_wire_errors(payload: object) -> None:
    with pytest.raises(wire.WireError):
        wire.parse_group(payload)


def test_a_list_response_without_resources_is_an_empty_page() -> None:
    page = wire.parse_list({"totalResults": 0, "startIndex": 1, "itemsPerPage": 0})
    assert page.groups == []
    assert page.total_results == 0


def test_a_list_response_keeps_total_and_start_index() -> None:
    page = wire.parse_list(
        {"Resources": [CONDECO_G602], "totalResults": 49, "startIndex": 2, "itemsPerPage": 1}
    )
    assert [g.id for g in page.groups] == ["G602"]
    assert (page.total_results, page.start_index) == (49, 2)


def test_a_user_becomes_a_member_with_username_as_login_id() -> None:
    member = wire.parse_user({"id": "u1", "userName": "ann@x.test", "displayName": "Ann"})
    assert (member.id, member.display, member.login_id, member.user_id) == (
        "u1",
        "Ann",
        "ann@x.test",
        "u1",
    )


def test_the_group_body_carries_every_member() -> None:
    body = wire.group_body(GroupDraft("Ops", "ext-1", ("265", "267")))
    assert body == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Ops",
        "externalId": "ext-1",
        "members": [{"value": "265"}, {"value": "267"}],
    }


def test_a_patch_removes_each_member_with_its_own_operation() -> None:
    body = wire.patch_body(GroupPatch(remove_members=("260", "248")))
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
    assert body["Operations"] == [
        {"op": "remove", "path": 'members[value eq "260"]'},
        {"op": "remove", "path": 'members[value eq "248"]'},
    ]
    assert all(" and " not in op["path"] for op in body["Operations"])


def test_a_patch_adds_members_and_renames() -> None:
    ops = wire.patch_body(GroupPatch(display_name="New", add_members=("1",)))["Operations"]
    assert ops == [
        {"op": "replace", "path": "displayName", "value": "New"},
        {"op": "add", "path": "members", "value": [{"value": "1"}]},
    ]


def test_a_patch_replacing_members_ignores_adds_and_removes() -> None:
    ops = wire.patch_body(GroupPatch(replace_members=("45",), add_members=("1",)))["Operations"]
    assert ops == [{"op": "replace", "path": "members", "value": [{"value": "45"}]}]


def test_an_empty_external_id_is_removed_and_a_new_one_replaced() -> None:
    assert wire.patch_body(GroupPatch(external_id=""))["Operations"] == [
        {"op": "remove", "path": "externalId"}
    ]
    assert wire.patch_body(GroupPatch(external_id="e"))["Operations"] == [
        {"op": "replace", "path": "externalId", "value": "e"}
    ]


def test_every_op_is_lowercase() -> None:
    patch = GroupPatch("n", "", ("a",), ("b",))
    assert {op["op"] for op in wire.patch_body(patch)["Operations"]} <= {"add", "remove", "replace"}


def test_or_filters_join_quoted_equality_terms() -> None:
    assert wire.or_filter("id", ["a", "b"]) == 'id eq "a" or id eq "b"'


def test_a_hostile_value_stays_one_value_in_a_filter() -> None:
    hostile = 'x" or id pr or id eq "\\'
    text = wire.or_filter("members", [hostile, "y"])
    parsed = ScimFilter(text)
    assert str(parsed) == text
    assert text.count(" or ") == 3  # two terms: the quoted " or " inside the value is data
    assert wire.member_path(hostile) == f"members[value eq {ScimFilter.quote(hostile)}]"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_quote_renders_any_string_as_the_library_does(value: str) -> None:
    assert wire.quote(value) == ScimFilter.quote(value)


def test_quote_escapes_what_a_filter_could_mistake_for_syntax() -> None:
    for value in ['a"b', "back\\slash", "\x00\x1f\x7f", "\u00e9\u4e2d\U0001f600", "", "\u2028"]:
        assert wire.quote(value) == ScimFilter.quote(value)
    assert wire.quote('x" or id pr') == '"x\\" or id pr"'


def test_chunks_split_and_unique_keeps_first_order() -> None:
    assert [list(c) for c in wire.chunks(["a", "b", "c"], 2)] == [["a", "b"], ["c"]]
    assert wire.unique(["b", "a", "b"]) == ["b", "a"]


def test_service_provider_config_gives_capabilities() -> None:
    caps = wire.parse_service_provider_config(
        {
            "patch": {"supported": True},
            "filter": {"supported": True, "maxResults": 40},
            "sort": {"supported": True},
            "etag": {"supported": False},
        }
    )
    assert (caps.patch, caps.filter, caps.sort, caps.etag) == (True, True, True, False)
    assert caps.filter_max_results == 40
    assert caps.max_page_size == 40


@pytest.mark.parametrize(
    ("filter_section", "page"),
    [
        ({"supported": True, "maxResults": 1000}, 1000),
        ({"supported": True, "maxResults": 50_000}, wire.MAX_PAGE_SIZE),
        ({"supported": True}, 100),
        ({"supported": True, "maxResults": 0}, 100),
    ],
    ids=["as announced", "capped", "not announced", "nonsense"],
)
def test_a_page_asks_for_what_the_server_announces_within_a_cap(
    filter_section: dict[str, object], page: int
) -> None:
    caps = wire.parse_service_provider_config({"filter": filter_section})
    assert caps.max_page_size == page


def test_groups_by_member_reads_each_groups_members() -> None:
    a = wire.parse_group({"id": "A", "members": [{"value": "1"}, {"value": "2"}]})
    b = wire.parse_group({"id": "B", "members": [{"value": "2"}]})
    assert wire.groups_by_member(["1", "2", "3"], [a, b]) == {"1": ["A"], "2": ["A", "B"], "3": []}


def test_a_member_listed_twice_or_a_group_read_twice_counts_once() -> None:
    a = wire.parse_group({"id": "A", "members": [{"value": "1"}, {"value": "1"}]})
    b = wire.parse_group({"id": "B", "members": [{"value": "1"}, {"value": "2"}]})
    groups = [a, b, a]  # a listing whose pages shifted names A again
    assert wire.groups_by_member(["1", "2"], groups) == {"1": ["A", "B"], "2": ["B"]}
    assert wire.membership_index(groups) == {"1": ["A", "B"], "2": ["B"]}
    pairs = [("A", ["1", "1"]), ("B", ["1", "2"]), ("A", ["1", "1"])]
    assert wire.index_members(pairs) == {"1": ["A", "B"], "2": ["B"]}


def test_members_from_groups_take_the_first_display_given() -> None:
    a = wire.parse_group({"id": "A", "members": [{"value": "1"}]})
    b = wire.parse_group({"id": "B", "members": [{"value": "1", "display": "Ann"}]})
    found = wire.members_from_groups(["1", "2"], [a, b])
    assert list(found) == ["1"]
    assert (found["1"].display, found["1"].user_id, found["1"].login_id) == ("Ann", "1", None)


ODD_GROUPS = [
    CONDECO_G602,
    {**CONDECO_G602, "members": [{"value": "1", "display": "A", "type": "User", "$ref": "x"}]},
    {"id": 602, "displayName": 7, "externalId": 8, "meta": {"version": 3}},  # numbers as text
    {"id": "g", "members": [{"value": 265, "display": 5}]},  # numeric member entries
    {"id": "g", "displayName": True},  # a bool is not a number here, but reads as text
    {"id": "g", "meta": "not an object"},  # unreadable meta is ignored
    {"id": "g", "meta": {"created": {"seconds": 1}, "lastModified": 3}},  # Descope's created
    {"id": "g", "meta": {"version": {"etag": 1}}},
    {"id": "", "displayName": "no id"},
    {"displayName": "no id"},
    {"id": "g", "members": "not a list"},
    {"id": "g", "members": [{"display": "no value"}]},
    {"id": "g", "members": [{"value": None}]},
    {"id": "g", "members": ["not an object"]},
    {"id": "g", "members": [{"value": ""}]},
    {"id": "g", "displayName": None, "externalId": None, "members": None},
    ["not", "an", "object"],
    "text",
]


@pytest.mark.parametrize("excluded", [False, True])
@pytest.mark.parametrize("data", ODD_GROUPS)
def test_the_fast_group_parser_reads_what_the_checked_one_reads(
    data: object, excluded: bool
) -> None:
    """parse_group converts the usual shape in C and hands anything else to the checked
    parser: either way, the same record or the same WireError."""

    def outcome(parse: object) -> object:
        try:
            return parse(data, members_excluded=excluded)  # type: ignore[operator]
        except wire.WireError as exc:
            return ("WireError", str(exc))

    assert outcome(wire.parse_group) == outcome(wire._parse_group_checked)


_SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=6,
)
_MEMBER = st.fixed_dictionaries(
    {}, optional={"value": _JSON, "display": _JSON, "type": _JSON, "$ref": _JSON}
)
_META = st.fixed_dictionaries(
    {}, optional={"created": _JSON, "lastModified": _JSON, "version": _JSON}
)
_GROUP = st.fixed_dictionaries(
    {},
    optional={
        "id": _JSON,
        "displayName": _JSON,
        "externalId": _JSON,
        "members": st.lists(_MEMBER | _JSON, max_size=3) | _JSON,
        "meta": _META | _JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(data=_GROUP | _JSON, excluded=st.booleans())
def test_the_fast_group_parser_agrees_on_any_json(data: object, excluded: bool) -> None:
    try:
        fast: object = wire.parse_group(data, members_excluded=excluded)
    except wire.WireError as exc:
        fast = ("WireError", str(exc))
    try:
        checked: object = wire._parse_group_checked(data, members_excluded=excluded)
    except wire.WireError as exc:
        checked = ("WireError", str(exc))
    assert fast == checked


def _list_outcome(data: object) -> object:
    try:
        return wire.parse_list(data, start_index=1)
    except wire.WireError as exc:
        return ("WireError", str(exc))


@pytest.mark.parametrize(
    "body",
    [
        {"totalResults": 2, "startIndex": 1, "Resources": [CONDECO_G602, ODD_GROUPS[1]]},
        {"totalResults": 0},  # no Resources when empty
        {"Resources": None},
        {"totalResults": "2", "Resources": []},
        {"totalResults": 1.0, "Resources": []},
        {"totalResults": 1, "Resources": [{"id": ""}]},  # decodes, then has no id
        {"totalResults": 2, "Resources": ODD_GROUPS[:8]},  # odd shapes: the checked parser
        {"Resources": {"not": "a list"}},
        ["not", "an", "object"],
    ],
)
def test_group_lists_decoded_from_bytes_read_like_parsed_json(body: object) -> None:
    raw = orjson.dumps(body)
    assert _list_outcome(wire.decode_groups(raw)) == _list_outcome(orjson.loads(raw))


def test_malformed_group_lists_raise_what_orjson_raises() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        wire.decode_groups(b'{"Resources": [')
