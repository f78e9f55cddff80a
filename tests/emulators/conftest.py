"""Fixtures: small seeded emulators and httpx clients that reach them over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.emulators import CondecoEmulator, DescopeEmulator, ScimEmulator, SeedGroup, SeedPerson
from tests.clock import Clock

PEOPLE = [
    SeedPerson("Ada Okafor", "ada.okafor@acme.example.com"),
    SeedPerson("Ben Smith", "ben.smith@acme.example.com"),
    SeedPerson("Chloe Kim", "chloe.kim@acme.example.com"),
    SeedPerson("Dev Patel", "dev.patel@acme.example.com"),
]
GROUPS = [
    SeedGroup("HR", "ext-hr", (0, 1)),
    SeedGroup("Engineering", "ext-eng", (1, 2, 3)),
    SeedGroup("Sales EMEA", None, ()),
]


@pytest.fixture
def descope() -> DescopeEmulator:
    emulator = DescopeEmulator("P2test", {"T2one": "key-one", "T2two": "key-two"}, "mgmt-key")
    emulator.load("T2one", PEOPLE, GROUPS)
    emulator.load("T2two", PEOPLE[:1], [SeedGroup("Other tenant", None, (0,))])
    return emulator


@pytest.fixture
async def descope_client(descope: DescopeEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=descope.app),
        base_url="https://api.descope.com",
        headers={"Authorization": "Bearer P2test:key-one"},
    ) as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def condeco(clock: Clock) -> CondecoEmulator:
    emulator = CondecoEmulator("client", "secret", clock=clock)
    emulator.load(PEOPLE, GROUPS)
    return emulator


@pytest.fixture
async def condeco_client(condeco: CondecoEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=condeco.app), base_url="https://scimstage.condeco.cloud"
    ) as client:
        token = await client.post(
            "/api/V1/token",
            data={"scimClientId": "client", "scimClientSecret": "secret", "grantType": "password"},
        )
        client.headers["Authorization"] = f"Bearer {token.json()['accessToken']}"
        condeco.log.reset()
        yield client


@pytest.fixture
def scim() -> ScimEmulator:
    emulator = ScimEmulator("scim-token")
    emulator.load(PEOPLE, GROUPS)
    return emulator


@pytest.fixture
async def scim_client(scim: ScimEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=scim.app),
        base_url="http://scim.emulator",
        headers={"Authorization": "Bearer scim-token"},
    ) as client:
        yield client
