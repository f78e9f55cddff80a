"""build_demo: deterministic, parameterizable and reachable with the exported credentials."""

from __future__ import annotations

import httpx

import app.emulators as emulators
from app.emulators import (
    CONDECO_CLIENT_ID,
    CONDECO_CLIENT_SECRET,
    DESCOPE_ACCESS_KEY,
    DESCOPE_PROJECT_ID,
    DESCOPE_TENANT_ID,
    SCIM_TOKEN,
    build_demo,
)
from app.models import BackendKind


def test_the_package_exports_a_sorted_and_complete_all() -> None:
    # isort-style order, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    def isort_key(name: str) -> tuple[bool, bool, str]:
        return (not name.isupper(), not name[0].isupper(), name)

    assert emulators.__all__ == sorted(emulators.__all__, key=isort_key)
    assert all(hasattr(emulators, name) for name in emulators.__all__)


def test_the_default_demo_seeds_three_tenants() -> None:
    env = build_demo()
    assert [(t.key, t.name, t.kind) for t in env.tenants] == [
        ("acme", "Acme Corp", BackendKind.DESCOPE),
        ("globex", "Globex", BackendKind.CONDECO),
        ("initech", "Initech", BackendKind.SCIM),
    ]
    groups = env.descope.store(DESCOPE_TENANT_ID).groups.values()
    assert len(groups) == 120
    assert all(5 <= len(g.members) <= 25 for g in groups)
    assert len({g.display_name for g in groups}) == 120
    assert len(env.condeco.store.groups) == 120
    assert env.emulator("globex") is env.condeco


def test_the_demo_is_the_same_on_every_run() -> None:
    first, second = build_demo(groups_per_tenant=10), build_demo(groups_per_tenant=10)
    assert list(first.descope.store(DESCOPE_TENANT_ID).groups) == list(
        second.descope.store(DESCOPE_TENANT_ID).groups
    )
    assert first.user_ids == second.user_ids


def test_sizes_are_parameterizable_for_benchmarks() -> None:
    env = build_demo(
        groups_per_tenant={"acme": 5000, "globex": 200, "initech": 3}, members_per_group=20
    )
    acme = env.descope.store(DESCOPE_TENANT_ID).groups.values()
    assert len(acme) == 5000
    assert len({g.display_name for g in acme}) == 5000
    assert {len(g.members) for g in env.condeco.store.groups.values()} == {20}


async def test_each_tenant_answers_with_the_exported_credentials() -> None:
    env = build_demo(groups_per_tenant=200, members_per_group=20)
    descope_auth = {"Authorization": f"Bearer {DESCOPE_PROJECT_ID}:{DESCOPE_ACCESS_KEY}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=env.descope.app), base_url=env.tenant("acme").base_url
    ) as client:
        body = (
            await client.get("/scim/v2/Groups", params={"count": 200}, headers=descope_auth)
        ).json()
        assert len(body["Resources"]) == 200
        assert {len(g["members"]) for g in body["Resources"]} == {20}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=env.condeco.app), base_url=env.tenant("globex").base_url
    ) as client:
        form = {
            "scimClientId": CONDECO_CLIENT_ID,
            "scimClientSecret": CONDECO_CLIENT_SECRET,
            "grantType": "password",
        }
        token = (await client.post("/api/V1/token", data=form)).json()["accessToken"]
        body = (
            await client.get("/scim/api/V1/groups", headers={"Authorization": f"Bearer {token}"})
        ).json()
        assert body["totalResults"] == 200
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=env.scim.app), base_url="http://scim.emulator"
    ) as client:
        headers = {"Authorization": f"Bearer {SCIM_TOKEN}"}
        body = (await client.get("/v2/Groups", params={"count": 5}, headers=headers)).json()
        assert body["totalResults"] == 200
        assert env.scim.log.counts == {"GET /v2/Groups": 1}
