"""The Condeco emulator against the examples of seeds/condeco-scim-groups.txt."""

from __future__ import annotations

import re

import httpx
import pytest

from app.emulators import CondecoEmulator
from tests.clock import Clock

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TOKEN_FORM = {"scimClientId": "client", "scimClientSecret": "secret", "grantType": "password"}


def member_id(condeco: CondecoEmulator, name: str) -> str:
    return next(u.id for u in condeco.store.users.values() if u.display == name)


async def test_the_token_endpoint_issues_a_bearer_token_for_good_credentials(
    condeco: CondecoEmulator,
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=condeco.app), base_url="http://t"
    ) as c:
        good = await c.post("/api/V1/token", data=TOKEN_FORM)
        bad = await c.post("/api/V1/token", data={**TOKEN_FORM, "scimClientSecret": "nope"})
        grant = await c.post(
            "/api/V1/token", data={**TOKEN_FORM, "grantType": "client_credentials"}
        )
    assert good.status_code == 200
    assert set(good.json()) == {"accessToken", "tokenType", "expiresIn"}
    assert good.json()["tokenType"] == "Bearer"
    assert good.json()["expiresIn"] == 3600
    assert bad.status_code == 401
    assert grant.status_code == 400
    assert condeco.log.counts["POST /api/V1/token"] == 3


async def test_scim_refuses_a_missing_token_with_a_string_status(
    condeco_client: httpx.AsyncClient,
) -> None:
    response = await condeco_client.get("/scim/api/V1/groups", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json()["status"] == "401"
    assert response.headers["content-type"] == "application/json; charset=utf-8"


async def test_a_token_expires_after_its_ttl(
    condeco: CondecoEmulator, condeco_client: httpx.AsyncClient, clock: Clock
) -> None:
    assert (await condeco_client.get("/scim/api/V1/groups")).status_code == 200
    clock.now += 3600
    assert (await condeco_client.get("/scim/api/V1/groups")).status_code == 401


async def test_a_shorter_ttl_applies_to_tokens_issued_afterwards(
    condeco: CondecoEmulator, condeco_client: httpx.AsyncClient, clock: Clock
) -> None:
    condeco.token_ttl = 5
    token = (await condeco_client.post("/api/V1/token", data=TOKEN_FORM)).json()
    assert token["expiresIn"] == 5
    clock.now += 6
    headers = {"Authorization": f"Bearer {token['accessToken']}"}
    assert (await condeco_client.get("/scim/api/V1/groups", headers=headers)).status_code == 401
    assert (await condeco_client.get("/scim/api/V1/groups")).status_code == 200  # older token


async def test_revoked_tokens_are_refused(
    condeco: CondecoEmulator, condeco_client: httpx.AsyncClient
) -> None:
    condeco.revoke_tokens()
    assert (await condeco_client.get("/scim/api/V1/groups")).status_code == 401


async def test_create_example_1_answers_201_with_a_g_id(condeco_client: httpx.AsyncClient) -> None:
    response = await condeco_client.post(
        "/scim/api/V1/groups",
        json={
            "schemas": [GROUP],
            "externalId": "155fcf8c-c7a2-4145-af48-f018a10da50645",
            "displayName": "SCIMGroup",
            "meta": {"resourceType": "Group"},
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["schemas", "id", "externalId", "meta", "displayName"]
    assert body["id"] == "G503"  # three seeded groups took G500-G502
    assert list(body["meta"]) == ["resourceType", "created", "location"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?", body["meta"]["created"])
    assert body["meta"]["location"] == "https://scimstage.condeco.cloud/scim/api/V1/groups/G503"


async def test_create_example_2_answers_without_members_yet_stores_them(
    condeco_client: httpx.AsyncClient,
) -> None:
    created = await condeco_client.post(
        "/scim/api/V1/groups",
        json={
            "schemas": [GROUP],
            "externalId": "ExSCIMGroupNew123",
            "displayName": "SCIMGroupNew",
            "meta": {"resourceType": "Group"},
            "members": [{"value": "265"}, {"value": "267"}],
        },
    )
    assert created.status_code == 201
    assert "members" not in created.json()
    read = await condeco_client.get(f"/scim/api/V1/groups/{created.json()['id']}")
    assert read.json()["members"] == [{"value": "265"}, {"value": "267"}]


async def test_read_by_id_omits_members_when_the_group_has_none(
    condeco_client: httpx.AsyncClient,
) -> None:
    empty = (await condeco_client.get("/scim/api/V1/groups/G502")).json()
    full = (await condeco_client.get("/scim/api/V1/groups/G500")).json()
    assert empty["displayName"] == "Sales EMEA"
    assert "members" not in empty
    assert [m["display"] for m in full["members"]] == ["Ada Okafor", "Ben Smith"]
    assert all(m["value"].isdigit() for m in full["members"])


async def test_read_example_2_filters_by_display_name_despite_the_leading_space(
    condeco_client: httpx.AsyncClient,
) -> None:
    response = await condeco_client.get('/scim/api/V1/groups?filter= displayName eq "HR"')
    body = response.json()
    assert list(body) == ["schemas", "Resources", "totalResults", "startIndex", "itemsPerPage"]
    assert [g["id"] for g in body["Resources"]] == ["G500"]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (1, 1, 200)


async def test_read_example_3_finds_the_groups_of_a_member(
    condeco: CondecoEmulator, condeco_client: httpx.AsyncClient
) -> None:
    ben = member_id(condeco, "Ben Smith")
    body = (await condeco_client.get(f'/scim/api/V1/groups?filter= members eq "{ben}"')).json()
    assert [g["displayName"] for g in body["Resources"]] == ["HR", "Engineering"]
    assert "members" in body["Resources"][0]  # lists carry members


async def test_read_example_4_pages_with_items_per_page_equal_to_count(
    condeco_client: httpx.AsyncClient,
) -> None:
    body = (await condeco_client.get("/scim/api/V1/groups?count=1&startIndex=2")).json()
    assert [g["id"] for g in body["Resources"]] == ["G501"]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (3, 2, 1)


async def test_count_is_capped_at_200(condeco_client: httpx.AsyncClient) -> None:
    body = (await condeco_client.get("/scim/api/V1/groups?count=5000")).json()
    assert body["itemsPerPage"] == 200


async def test_or_filters_on_ids_and_external_ids(condeco_client: httpx.AsyncClient) -> None:
    query = 'id eq "G500" or externalId eq "ext-eng"'
    body = (await condeco_client.get("/scim/api/V1/groups", params={"filter": query})).json()
    assert [g["id"] for g in body["Resources"]] == ["G500", "G501"]


async def test_put_example_answers_200_without_members(condeco_client: httpx.AsyncClient) -> None:
    response = await condeco_client.put(
        "/scim/api/V1/groups/G502",
        json={
            "schemas": [GROUP],
            "externalId": "155fcf8c-c7a2-4145-af48-f018a10da88645",
            "displayName": "SCIMGroup",
            "meta": {"resourceType": "Group"},
            "members": [{"value": "265"}, {"value": "267"}],
        },
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "SCIMGroup"
    assert "members" not in response.json()
    read = (await condeco_client.get("/scim/api/V1/groups/G502")).json()
    assert [m["value"] for m in read["members"]] == ["265", "267"]


async def test_patch_example_2_takes_a_partial_group_and_answers_204(
    condeco_client: httpx.AsyncClient,
) -> None:
    response = await condeco_client.patch(
        "/scim/api/V1/groups/G500",
        json={
            "schemas": [GROUP],
            "externalId": "155fcf8c-c7a2-4145-af48-f018a10da88649",
            "displayName": "SCIMGroup",
            "meta": {"resourceType": "Group"},
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    read = (await condeco_client.get("/scim/api/V1/groups/G500")).json()
    assert read["displayName"] == "SCIMGroup"
    assert read["externalId"] == "155fcf8c-c7a2-4145-af48-f018a10da88649"
    assert len(read["members"]) == 2  # untouched


async def test_patch_example_3_removes_both_values_joined_by_and(
    condeco: CondecoEmulator, condeco_client: httpx.AsyncClient
) -> None:
    chloe, dev = member_id(condeco, "Chloe Kim"), member_id(condeco, "Dev Patel")
    response = await condeco_client.patch(
        "/scim/api/V1/groups/G501",
        json={
            "schemas": [PATCH],
            "Operations": [
                {"op": "remove", "path": f'members[value eq "{chloe}" and value eq "{dev}"]'}
            ],
        },
    )
    assert response.status_code == 204
    read = (await condeco_client.get("/scim/api/V1/groups/G501")).json()
    assert [m["display"] for m in read["members"]] == ["Ben Smith"]


async def test_patch_example_4_replaces_members(condeco_client: httpx.AsyncClient) -> None:
    response = await condeco_client.patch(
        "/scim/api/V1/groups/G501",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "members", "value": [{"value": "45"}]}],
        },
    )
    assert response.status_code == 204
    read = (await condeco_client.get("/scim/api/V1/groups/G501")).json()
    assert read["members"] == [{"value": "45"}]


@pytest.mark.parametrize("op", ["add", "Add", "ADD"])
async def test_patch_ops_are_case_insensitive(condeco_client: httpx.AsyncClient, op: str) -> None:
    response = await condeco_client.patch(
        "/scim/api/V1/groups/G502",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": op, "path": "members", "value": [{"value": "7"}]}],
        },
    )
    assert response.status_code == 204
    assert (await condeco_client.get("/scim/api/V1/groups/G502")).json()["members"] == [
        {"value": "7"}
    ]


async def test_patch_with_an_unknown_op_is_a_400_with_a_string_status(
    condeco_client: httpx.AsyncClient,
) -> None:
    response = await condeco_client.patch(
        "/scim/api/V1/groups/G502",
        json={"schemas": [PATCH], "Operations": [{"op": "merge", "path": "members", "value": []}]},
    )
    assert response.status_code == 400
    assert response.json()["status"] == "400"
    assert response.json()["scimType"] == "invalidValue"


async def test_delete_answers_204(
    condeco: CondecoEmulator, condeco_client: httpx.AsyncClient
) -> None:
    assert (await condeco_client.delete("/scim/api/V1/groups/G500")).status_code == 204
    assert (await condeco_client.get("/scim/api/V1/groups/G500")).status_code == 404
    assert condeco.log.counts == {
        "DELETE /scim/api/V1/groups/{id}": 1,
        "GET /scim/api/V1/groups/{id}": 1,
    }
