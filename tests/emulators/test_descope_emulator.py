"""The Descope emulator against the seeds descope-scim-groups and descope-mgmt-external-groups."""

from __future__ import annotations

import re

import httpx

from app.emulators import DescopeEmulator

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MGMT = {"Authorization": "Bearer P2test:mgmt-key"}


def user_id(descope: DescopeEmulator, email: str) -> str:
    return next(u.id for u in descope.store("T2one").users.values() if u.email == email)


async def test_scim_refuses_a_missing_or_foreign_bearer_token(
    descope_client: httpx.AsyncClient,
) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer P2other:key-one"},
                    {"Authorization": "Bearer P2test:mgmt-key"}):  # fmt: skip
        response = await descope_client.get("/scim/v2/Groups", headers=headers)
        assert response.status_code == 401
        assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert response.json()["status"] == 401  # a number, as the seed's response type says


async def test_an_access_key_only_sees_its_own_tenant(descope_client: httpx.AsyncClient) -> None:
    one = (await descope_client.get("/scim/v2/Groups")).json()
    two = (
        await descope_client.get(
            "/scim/v2/Groups", headers={"Authorization": "Bearer P2test:key-two"}
        )
    ).json()
    assert [g["displayName"] for g in one["Resources"]] == ["HR", "Engineering", "Sales EMEA"]
    assert [g["displayName"] for g in two["Resources"]] == ["Other tenant"]


async def test_create_answers_201_with_the_whole_group_in_the_seed_shape(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    ada = user_id(descope, "ada.okafor@acme.example.com")
    response = await descope_client.post(
        "/scim/v2/Groups",
        json={"displayName": "Legal", "externalId": "x-1", "members": [{"value": ada}]},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["displayName", "schemas", "id", "members", "meta", "externalId"]
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{26}", body["id"])
    assert body["members"] == [{"value": ada, "display": "Ada Okafor"}]
    assert body["meta"]["location"] == f"https://api.descope.com/scim/v2/Groups/{body['id']}"
    assert body["meta"]["resourceType"] == "Group"
    assert body["meta"]["created"].endswith("Z")


async def test_create_honours_a_client_chosen_group_id_once(
    descope_client: httpx.AsyncClient,
) -> None:
    first = await descope_client.post("/scim/v2/Groups", json={"id": "grp1", "displayName": "A"})
    again = await descope_client.post("/scim/v2/Groups", json={"id": "grp1", "displayName": "B"})
    assert first.json()["id"] == "grp1"
    assert again.status_code == 409
    assert again.json()["scimType"] == "uniqueness"


async def test_create_without_display_name_is_an_invalid_value(
    descope_client: httpx.AsyncClient,
) -> None:
    response = await descope_client.post("/scim/v2/Groups", json={"members": []})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


async def test_users_have_descope_style_ids_and_members_show_their_names(
    descope: DescopeEmulator,
) -> None:
    users = list(descope.store("T2one").users.values())
    assert all(re.fullmatch(r"U2[A-Za-z0-9]{25}", u.id) for u in users)
    hr = next(g for g in descope.store("T2one").groups.values() if g.display_name == "HR")
    assert list(hr.members.values()) == ["Ada Okafor", "Ben Smith"]


async def test_ids_are_deterministic_for_a_seed() -> None:
    first = DescopeEmulator("P", {"T": "k"}, "m", seed=3).store("T").new_id()
    second = DescopeEmulator("P", {"T": "k"}, "m", seed=3).store("T").new_id()
    assert first == second


async def test_read_by_id_and_a_missing_group_is_404(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    group_id = next(iter(descope.store("T2one").groups))
    found = await descope_client.get(f"/scim/v2/Groups/{group_id}")
    missing = await descope_client.get("/scim/v2/Groups/nope")
    assert found.json()["displayName"] == "HR"
    assert len(found.json()["members"]) == 2
    assert missing.status_code == 404
    assert missing.json()["status"] == 404


async def test_list_filters_pages_and_can_leave_members_out(
    descope_client: httpx.AsyncClient,
) -> None:
    hr = (
        await descope_client.get("/scim/v2/Groups", params={"filter": 'displayName eq "hr"'})
    ).json()
    assert [g["displayName"] for g in hr["Resources"]] == ["HR"]
    page = (
        await descope_client.get(
            "/scim/v2/Groups",
            params={"startIndex": "2", "count": "1", "excludedAttributes": "members"},
        )
    ).json()
    assert page["totalResults"] == 3
    assert page["startIndex"] == 2
    assert page["itemsPerPage"] == 1
    assert page["Resources"][0]["displayName"] == "Engineering"
    assert "members" not in page["Resources"][0]
    assert page["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]


async def test_an_empty_group_lists_an_empty_members_array(
    descope_client: httpx.AsyncClient,
) -> None:
    body = (
        await descope_client.get(
            "/scim/v2/Groups", params={"filter": 'displayName eq "Sales EMEA"'}
        )
    ).json()
    assert body["Resources"][0]["members"] == []
    assert "externalId" not in body["Resources"][0]


async def test_an_invalid_filter_is_a_400_invalid_filter(descope_client: httpx.AsyncClient) -> None:
    response = await descope_client.get("/scim/v2/Groups", params={"filter": "displayName eqq"})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


async def test_put_replaces_the_group_and_answers_200(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    group_id = next(iter(descope.store("T2one").groups))
    dev = user_id(descope, "dev.patel@acme.example.com")
    response = await descope_client.put(
        f"/scim/v2/Groups/{group_id}", json={"displayName": "People", "members": [{"value": dev}]}
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "People"
    assert response.json()["members"] == [{"value": dev, "display": "Dev Patel"}]
    assert "externalId" not in response.json()
    assert descope.store("T2one").groups[group_id].version == 2


async def test_patch_with_a_capitalised_op_answers_200_with_the_group(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    group_id = next(iter(descope.store("T2one").groups))
    chloe = user_id(descope, "chloe.kim@acme.example.com")
    ben = user_id(descope, "ben.smith@acme.example.com")
    response = await descope_client.patch(
        f"/scim/v2/Groups/{group_id}",
        json={
            "schemas": [PATCH],
            "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": chloe}]},
                {"op": "REMOVE", "path": f'members[value eq "{ben}"]'},
                {"op": "replace", "value": {"displayName": "HR Team"}},
            ],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["displayName"] == "HR Team"
    assert [m["display"] for m in body["members"]] == ["Ada Okafor", "Chloe Kim"]
    groups = await descope_client.get("/scim/v2/Groups", params={"filter": f'members eq "{ben}"'})
    assert [g["displayName"] for g in groups.json()["Resources"]] == ["Engineering"]


async def test_patch_with_a_nonsense_path_is_a_400_invalid_path(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    group_id = next(iter(descope.store("T2one").groups))
    response = await descope_client.patch(
        f"/scim/v2/Groups/{group_id}",
        json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "nickName", "value": "x"}]},
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidPath"


async def test_delete_answers_204_and_the_group_is_gone(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    group_id = next(iter(descope.store("T2one").groups))
    deleted = await descope_client.delete(f"/scim/v2/Groups/{group_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await descope_client.get(f"/scim/v2/Groups/{group_id}")).status_code == 404


async def test_mgmt_lists_all_external_groups_of_a_tenant(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    response = await descope_client.post(
        "/v1/mgmt/group/all", json={"tenantId": "T2one"}, headers=MGMT
    )
    groups = response.json()["groups"]
    assert [g["display"] for g in groups] == ["HR", "Engineering", "Sales EMEA"]
    assert groups[0]["id"] == next(iter(descope.store("T2one").groups))
    assert groups[0]["members"][0] == {
        "loginId": "ada.okafor@acme.example.com",
        "userId": user_id(descope, "ada.okafor@acme.example.com"),
        "display": "Ada Okafor",
    }


async def test_mgmt_finds_the_groups_of_members_by_login_or_user_id(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    by_login = await descope_client.post(
        "/v1/mgmt/group/member/all",
        json={"tenantId": "T2one", "loginIds": ["ben.smith@acme.example.com"]},
        headers=MGMT,
    )
    by_user = await descope_client.post(
        "/v1/mgmt/group/member/all",
        json={"tenantId": "T2one", "userIds": [user_id(descope, "dev.patel@acme.example.com")]},
        headers=MGMT,
    )
    assert [g["display"] for g in by_login.json()["groups"]] == ["HR", "Engineering"]
    assert [g["display"] for g in by_user.json()["groups"]] == ["Engineering"]
    assert len(by_user.json()["groups"][0]["members"]) == 3  # every member of each group


async def test_mgmt_loads_the_members_of_one_group(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    group_id = list(descope.store("T2one").groups)[1]
    response = await descope_client.post(
        "/v1/mgmt/group/members", json={"tenantId": "T2one", "groupId": group_id}, headers=MGMT
    )
    unknown = await descope_client.post(
        "/v1/mgmt/group/members", json={"tenantId": "T2one", "groupId": "nope"}, headers=MGMT
    )
    assert [m["display"] for m in response.json()["groups"][0]["members"]] == [
        "Ben Smith", "Chloe Kim", "Dev Patel"
    ]  # fmt: skip
    assert unknown.json() == {"groups": []}


async def test_mgmt_refuses_bad_keys_unknown_tenants_and_bad_bodies(
    descope_client: httpx.AsyncClient,
) -> None:
    bad_key = await descope_client.post("/v1/mgmt/group/all", json={"tenantId": "T2one"})
    unknown = await descope_client.post(
        "/v1/mgmt/group/all", json={"tenantId": "T2x"}, headers=MGMT
    )
    broken = await descope_client.post("/v1/mgmt/group/all", content=b"{", headers=MGMT)
    wrong_type = await descope_client.post(
        "/v1/mgmt/group/member/all", json={"tenantId": "T2one", "userIds": "x"}, headers=MGMT
    )
    assert bad_key.status_code == 401
    assert set(bad_key.json()) == {"errorCode", "errorDescription", "errorMessage"}
    for response in (unknown, broken, wrong_type):
        assert response.status_code == 400
        assert response.json()["errorCode"] == "E011001"
        assert response.json()["errorDescription"] == "Bad request"


async def test_requests_are_counted_by_route_template(
    descope: DescopeEmulator, descope_client: httpx.AsyncClient
) -> None:
    ids = list(descope.store("T2one").groups)
    await descope_client.get(
        "/scim/v2/Groups", params={"filter": " or ".join(f'id eq "{i}"' for i in ids)}
    )
    await descope_client.get(f"/scim/v2/Groups/{ids[0]}")
    await descope_client.get(f"/scim/v2/Groups/{ids[1]}")
    await descope_client.post("/v1/mgmt/group/member/all", json={"tenantId": "T2one"}, headers=MGMT)
    assert descope.log.counts == {
        "GET /scim/v2/Groups": 1,
        "GET /scim/v2/Groups/{id}": 2,
        "POST /v1/mgmt/group/member/all": 1,
    }
    assert descope.log.total == 4
    assert "filter=" in descope.log.queries[0][1]
