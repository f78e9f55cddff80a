"""Bad input is refused before any upstream call; the filter compiler and the whole schema are
checked with generated input (hypothesis), bounded so the run stays short."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import hypothesis_graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scim2_models import ScimFilter
from scim2_models.path.expressions import Comparison, LogicalExpr

from app.emulators import DemoEnvironment
from app.errors import CODES
from app.filters import MAX_VALUE_LENGTH, OPERATORS, FilterSpec, compile_filter
from app.ids import encode_cursor, encode_id
from app.schema import schema
from tests.hardening.conftest import TENANTS, GatewayClient, open_hardened


@pytest.fixture
async def gateway(demo: DemoEnvironment) -> AsyncIterator[GatewayClient]:
    async for client in open_hardened(demo):
        yield client


def raw_id(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


NODE = "query($id: ID!) { node(id: $id) { id } }"
GROUP = 'query($s: String!) { tenant(id: "acme") { group(scimId: $s) { id } } }'
MEMBER = 'query($s: String!) { tenant(id: "acme") { member(scimId: $s) { id } } }'
MERGED = "query($f: GroupFilter, $n: Int, $a: String) { groups(filter: $f, first: $n, after: $a) {"
MERGED += " totalCount } }"
ONE = 'query($f: GroupFilter, $n: Int, $a: String) { tenant(id: "acme") {'
ONE += " groups(filter: $f, first: $n, after: $a) { totalCount } } }"
CREATE = "mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }"
UPDATE = "mutation($i: UpdateGroupInput!) { updateGroup(input: $i) { id } }"
GID = encode_id("Group", "acme", "x")

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("forged id", NODE, {"id": "!!not base64!!"}),
    ("id without a scim id", NODE, {"id": raw_id("Group:acme:")}),
    ("id with a bad tenant", NODE, {"id": raw_id("Group:ACME!:x")}),
    ("id of an unknown kind", NODE, {"id": raw_id("User:acme:x")}),
    ("oversized id", NODE, {"id": "A" * 5000}),
    ("id with control characters", NODE, {"id": encode_id("Group", "acme", "x\r\nHost: evil")}),
    ("empty scim id", GROUP, {"s": ""}),
    ("oversized scim id", GROUP, {"s": "x" * 300}),
    ("scim id with a newline", MEMBER, {"s": "a\nb"}),
    *(
        (f"scim id with U+{ord(c):04X}", GROUP, {"s": f"a{c}b"})
        for c in ("\x00", "\x1f", "\x7f", "\x85", "\x9f")  # C0, DEL, C1 (both ends)
    ),
    ("garbage cursor", MERGED, {"a": "%%%"}),
    ("tenant cursor on merged groups", MERGED, {"a": encode_cursor("t:acme:3")}),
    ("merged cursor with a negative position", MERGED, {"a": encode_cursor('m:{"acme":-1}')}),
    ("merged cursor for an unknown tenant", MERGED, {"a": encode_cursor('m:{"zzz":1}')}),
    ("another tenant's cursor", ONE, {"a": encode_cursor("t:globex:3")}),
    ("merged cursor on one tenant", ONE, {"a": encode_cursor('m:{"acme":1}')}),
    ("first below range", MERGED, {"n": -1}),
    ("first above range", ONE, {"n": 201}),
    ("invalid raw filter", MERGED, {"f": {"scim": "displayName eq"}}),
    ("unknown attribute in raw filter", ONE, {"f": {"scim": 'password eq "x"'}}),
    ("oversized raw filter", MERGED, {"f": {"scim": "displayName eq " + '"x"' * 2000}}),
    ("oversized typed filter value", MERGED, {"f": {"displayName": {"eq": "x" * 5000}}}),
    ("oversized member filter", ONE, {"f": {"memberScimId": "x" * 5000}}),
    ("oversized display name", CREATE, {"i": {"tenantId": "acme", "displayName": "x" * 300}}),
    ("blank display name", CREATE, {"i": {"tenantId": "acme", "displayName": "   "}}),
    ("oversized external id", UPDATE, {"i": {"id": GID, "externalId": "x" * 300}}),
    (
        "too many members",
        CREATE,
        {"i": {"tenantId": "acme", "displayName": "x", "memberScimIds": ["m"] * 1001}},
    ),
    (
        "a blank member id",
        CREATE,
        {"i": {"tenantId": "acme", "displayName": "x", "memberScimIds": [" "]}},
    ),
    ("ifMatch with a newline", UPDATE, {"i": {"id": GID, "displayName": "y", "ifMatch": "a\nb"}}),
    ("oversized ifMatch", UPDATE, {"i": {"id": GID, "displayName": "y", "ifMatch": "W" * 999}}),
]


async def test_every_bad_input_is_refused_with_bad_user_input_before_any_upstream_call(
    gateway: GatewayClient,
) -> None:
    for what, query, variables in CASES:
        body = await gateway.post(query, variables)
        assert body.get("errors"), what
        codes = {e["extensions"]["code"] for e in body["errors"]}
        assert codes == {"BAD_USER_INPUT"}, (what, body["errors"])
        assert sum(gateway.upstream(t) for t in TENANTS) == 0, what


@pytest.mark.parametrize("c", [" ", "~", "\xa0", "\xe9", "\u2028"])
async def test_ids_with_characters_next_to_the_control_ranges_are_read(
    gateway: GatewayClient, c: str
) -> None:
    body = await gateway.post(GROUP, {"s": f"a{c}b"})
    assert body == {"data": {"tenant": {"group": None}}}  # asked upstream: no such group


async def test_an_id_for_a_tenant_that_does_not_exist_is_null_without_upstream_calls(
    gateway: GatewayClient,
) -> None:
    body = await gateway.post(NODE, {"id": encode_id("Group", "nope", "x")})
    assert body == {"data": {"node": None}}
    assert sum(gateway.upstream(t) for t in TENANTS) == 0


# -- the filter compiler: any value stays exactly that value --------------------------------

values = st.text(max_size=MAX_VALUE_LENGTH)


@settings(max_examples=200, deadline=None, database=None)
@given(value=values, op=st.sampled_from(OPERATORS), attr=st.sampled_from(["dn", "ext", "mem"]))
def test_any_filter_value_parses_back_to_exactly_itself(value: str, op: str, attr: str) -> None:
    if attr == "mem":
        spec, op = FilterSpec(member_scim_id=value), "eq"
    elif attr == "dn":
        spec = FilterSpec(display_name={op: value})
    else:
        spec = FilterSpec(external_id={op: value})
    compiled = compile_filter(spec)
    assert compiled is not None
    ast = ScimFilter(compiled).ast
    assert isinstance(ast, Comparison)
    assert ast.value == value
    assert ast.op.value == op
    assert ast.attr_path.attr == {"dn": "displayName", "ext": "externalId"}.get(attr, "members")


@settings(max_examples=100, deadline=None, database=None)
@given(name=values, external=values)
def test_two_filter_values_stay_two_comparisons(name: str, external: str) -> None:
    compiled = compile_filter(FilterSpec(display_name={"eq": name}, external_id={"ne": external}))
    assert compiled is not None
    ast = ScimFilter(compiled).ast
    assert isinstance(ast, LogicalExpr)
    assert [(c.attr_path.attr, c.value) for c in ast.terms] == [  # type: ignore[union-attr]
        ("displayName", name),
        ("externalId", external),
    ]


# -- a bounded fuzz run over the whole schema -----------------------------------------------

SDL = schema.as_str()
operations = hypothesis_graphql.queries(SDL) | hypothesis_graphql.mutations(SDL)


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=True,  # the same 100 operations on every run: bounded, never flaky
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=operations)
async def test_generated_operations_never_get_a_500_a_stack_trace_or_an_uncoded_error(
    gateway: GatewayClient, query: str
) -> None:
    response = await gateway.http.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    text = response.text
    assert "Traceback" not in text
    assert 'File "' not in text
    body = json.loads(text)
    for error in body.get("errors") or []:
        assert error["message"] != "Internal error.", (query, error)
        assert error.get("extensions", {}).get("code") in CODES, (query, error)
