"""Deterministic, realistic demo data for the no-config demo, the tests and the benchmarks.

:func:`build_demo` seeds three tenants, one per backend kind, from ``random.Random`` so every
run shows the same people and groups:

======== ========= =========================================================================
key      backend   credentials
======== ========= =========================================================================
acme     Descope   project ``P2demoProject``, tenant ``T2acme``, access key
                   ``demo-access-key``, management key ``demo-management-key``
globex   Condeco   client ``globex-client``, secret ``globex-demo-secret``
initech  SCIM      bearer ``demo-scim-token`` (scim2-server)
======== ========= =========================================================================

The base URLs are placeholders: the emulators answer on any host, so pair each with its
``app`` through ``httpx.ASGITransport`` (or serve the app with uvicorn).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.emulators.condeco import CondecoEmulator
from app.emulators.descope import DescopeEmulator
from app.emulators.scim import ScimEmulator
from app.emulators.store import SeedGroup, SeedPerson
from app.models import BackendKind

DESCOPE_BASE_URL = "http://descope.emulator"
DESCOPE_PROJECT_ID = "P2demoProject"
DESCOPE_TENANT_ID = "T2acme"
DESCOPE_ACCESS_KEY = "demo-access-key"
DESCOPE_MANAGEMENT_KEY = "demo-management-key"
CONDECO_BASE_URL = "http://condeco.emulator"
CONDECO_CLIENT_ID = "globex-client"
CONDECO_CLIENT_SECRET = "globex-demo-secret"
SCIM_BASE_URL = "http://scim.emulator/v2"
SCIM_TOKEN = "demo-scim-token"

_DEPARTMENTS = (
    "HR", "Engineering", "Sales", "Marketing", "Finance", "Legal", "Support", "Operations",
    "Product", "Design", "Security", "IT", "Procurement", "Facilities", "Data", "Research",
    "Customer Success", "Partnerships", "Recruiting", "Communications",
)  # fmt: skip
_REGIONS = ("EMEA", "APAC", "Americas", "DACH", "Nordics", "UK", "France", "Japan", "LATAM")
_TEAMS = (
    "Platform", "Payments", "Identity", "Mobile", "Web", "Infrastructure", "Billing", "Search",
    "Growth", "Analytics", "Networking", "Storage", "Observability", "Onboarding",
)  # fmt: skip
_TEAM_SUFFIXES = ("On-Call", "Leads", "Reviewers", "Guild", "Admins", "Contractors")
_PROJECTS = (
    "Apollo", "Borealis", "Cobalt", "Dynamo", "Everest", "Falcon", "Granite", "Helios",
    "Iris", "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Orion", "Polaris",
)  # fmt: skip
_FIRST = (
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wen", "Ximena", "Yusuf", "Zoe", "Amir", "Bianca", "Carlos", "Dana", "Emeka", "Freya",
)  # fmt: skip
_LAST = (
    "Okafor", "Smith", "Nakamura", "Garcia", "Novak", "Schmidt", "Rossi", "Dubois", "Kim",
    "Patel", "Silva", "Jensen", "Kowalski", "Haddad", "Oliveira", "Andersson", "Murphy",
    "Tanaka", "Cohen", "Mensah", "Ivanova", "Larsen", "Moreau", "Singh", "Fischer", "Costa",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemoTenant:
    """One tenant of the demo: the gateway's ``key``, a display ``name`` and how to reach it."""

    key: str
    name: str
    kind: BackendKind
    base_url: str
    credentials: Mapping[str, str]


@dataclass
class DemoEnvironment:
    """The three seeded emulators, their tenants, and the member ids each tenant holds."""

    descope: DescopeEmulator
    condeco: CondecoEmulator
    scim: ScimEmulator
    tenants: tuple[DemoTenant, ...]
    user_ids: dict[str, list[str]] = field(default_factory=dict)

    def tenant(self, key: str) -> DemoTenant:
        return next(t for t in self.tenants if t.key == key)

    def emulator(self, key: str) -> DescopeEmulator | CondecoEmulator | ScimEmulator:
        kind = self.tenant(key).kind
        if kind is BackendKind.DESCOPE:
            return self.descope
        return self.condeco if kind is BackendKind.CONDECO else self.scim


def demo_people(rng: random.Random, n: int, domain: str) -> list[SeedPerson]:
    """``n`` people with unique names and ``first.last@domain`` emails."""
    people: list[SeedPerson] = []
    seen: set[str] = set()
    while len(people) < n:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        base, suffix = f"{first} {last}", 1
        name = base
        while name in seen:
            suffix += 1
            name = f"{base} {suffix}"
        seen.add(name)
        local = name.lower().replace(" ", ".")
        people.append(SeedPerson(name, f"{local}@{domain}"))
    return people


def demo_group_names(rng: random.Random, n: int) -> list[str]:
    """``n`` unique names: departments, regional teams, on-call rotas, projects."""
    pool = [
        *_DEPARTMENTS,
        *(f"{d} {r}" for d in _DEPARTMENTS for r in _REGIONS),
        *(f"{t} {s}" for t in _TEAMS for s in _TEAM_SUFFIXES),
        *(f"Project {p}" for p in _PROJECTS),
        *(f"Project {p} {t}" for p in _PROJECTS for t in _TEAMS),
    ]
    rng.shuffle(pool)
    names = pool[:n]
    round_ = 2
    while len(names) < n:  # beyond ~600, repeat the pool with a cohort number
        names.extend(f"{name} {round_}" for name in pool[: n - len(names)])
        round_ += 1
    return names


def demo_groups(
    rng: random.Random, n: int, users: int, members_per_group: int | tuple[int, int]
) -> list[SeedGroup]:
    low, high = (
        (members_per_group, members_per_group)
        if isinstance(members_per_group, int)
        else members_per_group
    )
    if high > users:
        raise ValueError(f"{high} members per group needs at least {high} users, not {users}")
    return [
        SeedGroup(
            display_name=name,
            external_id=f"ext-{rng.getrandbits(48):012x}",
            members=tuple(rng.sample(range(users), rng.randint(low, high))),
        )
        for name in demo_group_names(rng, n)
    ]


def build_demo(
    groups_per_tenant: int | Mapping[str, int] = 120,
    members_per_group: int | tuple[int, int] = (5, 25),
    users_per_tenant: int = 600,
    seed: int = 7,
) -> DemoEnvironment:
    """Seed acme (Descope), globex (Condeco) and initech (scim2-server).

    ``groups_per_tenant`` may map tenant keys to sizes (e.g. ``{"acme": 5000}``; a key left
    out gets 120); ``members_per_group`` is an exact size or an inclusive range.
    """

    def plan(key: str, domain: str) -> tuple[list[SeedPerson], list[SeedGroup]]:
        rng = random.Random(f"{seed}:{key}")
        n = (
            groups_per_tenant
            if isinstance(groups_per_tenant, int)
            else groups_per_tenant.get(key, 120)
        )
        people = demo_people(rng, users_per_tenant, domain)
        return people, demo_groups(rng, n, users_per_tenant, members_per_group)

    descope = DescopeEmulator(
        DESCOPE_PROJECT_ID,
        {DESCOPE_TENANT_ID: DESCOPE_ACCESS_KEY},
        DESCOPE_MANAGEMENT_KEY,
        seed=seed,
    )
    condeco = CondecoEmulator(CONDECO_CLIENT_ID, CONDECO_CLIENT_SECRET, seed=seed)
    scim = ScimEmulator(SCIM_TOKEN, seed=seed)
    user_ids = {
        "acme": descope.load(DESCOPE_TENANT_ID, *plan("acme", "acme.example.com")),
        "globex": condeco.load(*plan("globex", "globex.example.com")),
        "initech": scim.load(*plan("initech", "initech.example.com")),
    }
    tenants = (
        DemoTenant(
            "acme",
            "Acme Corp",
            BackendKind.DESCOPE,
            DESCOPE_BASE_URL,
            {
                "project_id": DESCOPE_PROJECT_ID,
                "tenant_id": DESCOPE_TENANT_ID,
                "access_key": DESCOPE_ACCESS_KEY,
                "management_key": DESCOPE_MANAGEMENT_KEY,
            },
        ),
        DemoTenant(
            "globex",
            "Globex",
            BackendKind.CONDECO,
            CONDECO_BASE_URL,
            {"client_id": CONDECO_CLIENT_ID, "client_secret": CONDECO_CLIENT_SECRET},
        ),
        DemoTenant("initech", "Initech", BackendKind.SCIM, SCIM_BASE_URL, {"token": SCIM_TOKEN}),
    )
    return DemoEnvironment(descope, condeco, scim, tenants, user_ids)
