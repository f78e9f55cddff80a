"""The scim2-server backend: bearer check, seeding, route-template counting, faults."""

from __future__ import annotations

import httpx

from app.emulators import ScimEmulator
from app.emulators.scim import scim2_route_key

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


async def test_requests_without_the_bearer_token_are_refused(
    scim_client: httpx.AsyncClient,
) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}):
        response = await scim_client.get("/v2/Groups", headers=headers)
        assert response.status_code == 401
        assert response.json()["schemas"] == [ERROR]


async def test_service_provider_config_needs_no_token_and_announces_bearer_auth(
    scim_client: httpx.AsyncClient,
) -> None:
    response = await scim_client.get("/v2/ServiceProviderConfig", headers={"Authorization": ""})
    assert response.status_code == 200
    schemes = response.json()["authenticationSchemes"]
    assert [s["type"] for s in schemes] == ["oauthbearertoken"]


async def test_seeded_users_and_groups_are_served(
    scim: ScimEmulator, scim_client: httpx.AsyncClient
) -> None:
    groups = (await scim_client.get("/v2/Groups")).json()
    users = (
        await scim_client.get(
            "/v2/Users", params={"filter": 'userName eq "ada.okafor@acme.example.com"'}
        )
    ).json()
    assert groups["totalResults"] == 3
    hr = next(g for g in groups["Resources"] if g["displayName"] == "HR")
    assert [m["display"] for m in hr["members"]] == ["Ada Okafor", "Ben Smith"]
    assert hr["externalId"] == "ext-hr"
    assert users["Resources"][0]["displayName"] == "Ada Okafor"
    assert hr["members"][0]["value"] == users["Resources"][0]["id"]


async def test_groups_are_created_read_and_searched_with_counted_route_templates(
    scim: ScimEmulator, scim_client: httpx.AsyncClient
) -> None:
    created = await scim_client.post(
        "/v2/Groups",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Legal"},
    )
    assert created.status_code == 201
    group_id = created.json()["id"]
    assert (await scim_client.get(f"/v2/Groups/{group_id}")).status_code == 200
    search = await scim_client.post(
        "/v2/Groups/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'displayName eq "Legal"',
        },
    )
    assert search.json()["totalResults"] == 1
    await scim_client.get("/v2/ServiceProviderConfig")
    assert scim.log.counts == {
        "POST /v2/Groups": 1,
        "GET /v2/Groups/{id}": 1,
        "POST /v2/Groups/.search": 1,
        "GET /v2/ServiceProviderConfig": 1,
    }


def test_route_keys_follow_scim2_server_routes() -> None:
    def key(method: str, path: str) -> str:
        return scim2_route_key({"method": method, "path": path})

    assert key("GET", "/v2/Groups") == "GET /v2/Groups"
    assert key("PATCH", "/v2/Groups/abc") == "PATCH /v2/Groups/{id}"
    assert key("GET", "/v2/Schemas/urn:x") == "GET /v2/Schemas/{id}"
    assert key("POST", "/v2/Bulk") == "POST /v2/Bulk"
    assert key("GET", "/v2/Groups/a/b") == "GET /v2/Groups/a/b"


async def test_faults_apply_to_the_scim2_server_too(
    scim: ScimEmulator, scim_client: httpx.AsyncClient
) -> None:
    scim.faults.fail_next(1, 503, retry_after=1)
    response = await scim_client.get("/v2/Groups")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["status"] == "503"
    assert response.headers["content-type"] == "application/scim+json"
    assert (await scim_client.get("/v2/Groups")).status_code == 200
