"""A small tenant's whole membership is read with every page, and decoded only when it changed.

Over the demo emulators, through POST /graphql: the whole read still goes out with each
page (the directory is asked every time), but an answer byte for byte the same as the last
one is not decoded or indexed again; and a change in the directory shows in the very next
answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.adapters import descope, scimwire
from app.emulators import build_demo
from tests.adapters.test_unchanged import Counting
from tests.gateway.test_membership_alongside_page import _Gateway, _open, _whole_read

PAGE = """{ tenant(id: "%s") { groups(first: 10) { nodes {
  id displayName version members { scimId display groups { displayName } } } } } }"""
KINDS = ("acme", "globex", "initech")


class _Counted:
    def __init__(self, tenant: str, gateway: _Gateway, decodes: Counting) -> None:
        self.tenant = tenant
        self.gateway = gateway
        self.decodes = decodes

    async def page(self) -> tuple[dict[str, Any], int, int]:
        """The page's answer, how many whole reads went out for it, and how many answers
        of the whole read's kind were decoded."""
        before = self.decodes.calls
        body = await self.gateway.page(self.tenant, PAGE)
        assert "errors" not in body, body
        whole_reads = sum(map(_whole_read, self.gateway.watched[self.tenant].sent))
        return body["data"]["tenant"], whole_reads, self.decodes.calls - before


@pytest.fixture(params=KINDS)
async def gateway(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[_Counted]:
    tenant: str = request.param
    # Counted before the adapters are made: each keeps its decoder from then on.
    acme = tenant == "acme"
    module, name = (descope, "decode_memberships") if acme else (scimwire, "decode_groups")
    decodes = Counting(getattr(module, name))
    monkeypatch.setattr(module, name, decodes)
    demo = build_demo(groups_per_tenant=30, members_per_group=5, users_per_tenant=40, seed=11)
    async for opened in _open(demo):
        yield _Counted(tenant, opened, decodes)


async def test_an_unchanged_whole_read_is_sent_every_time_and_decoded_once(
    gateway: _Counted,
) -> None:
    await gateway.page()  # learns the tenant's size: no whole read yet
    second, whole_reads, decoded = await gateway.page()
    assert (whole_reads, decoded) == (1, 1)
    for _ in range(2):
        again, whole_reads, decoded = await gateway.page()
        assert (whole_reads, decoded) == (1, 0)
        assert again == second


async def test_a_change_in_the_directory_shows_in_the_next_answer(gateway: _Counted) -> None:
    await gateway.page()
    before, _, _ = await gateway.page()
    await gateway.page()  # the whole read is now kept
    group = before["groups"]["nodes"][0]
    member = group["members"][0]
    renamed = f"{group['displayName']} (renamed)"
    mutation = (
        "mutation($id: ID!, $name: String) { updateGroup(input: {id: $id, displayName: $name})"
        " { displayName } }"
    )
    variables = {"id": group["id"], "name": renamed}
    response = await gateway.gateway.http.post(
        "/graphql", json={"query": mutation, "variables": variables}
    )
    assert response.status_code == 200 and "errors" not in response.json()
    after, whole_reads, decoded = await gateway.page()
    assert (whole_reads, decoded) == (1, 1)  # other bytes: read anew
    names = {
        g["displayName"]
        for n in after["groups"]["nodes"]
        for m in n["members"]
        if m["scimId"] == member["scimId"]
        for g in m["groups"]
    }
    assert renamed in names
    assert group["displayName"] not in names
