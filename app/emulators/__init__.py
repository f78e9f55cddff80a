"""In-memory SCIM servers the gateway talks to in the demo, the tests and the benchmarks.

Each emulator is an ASGI app (``.app``) with a :class:`RequestLog` (``.log``) and
:class:`Faults` (``.faults``); :func:`build_demo` seeds all three.
"""

from app.emulators.common import Faults, RequestLog, ScimHTTPError
from app.emulators.condeco import CondecoEmulator
from app.emulators.demo import (
    CONDECO_BASE_URL,
    CONDECO_CLIENT_ID,
    CONDECO_CLIENT_SECRET,
    DESCOPE_ACCESS_KEY,
    DESCOPE_BASE_URL,
    DESCOPE_MANAGEMENT_KEY,
    DESCOPE_PROJECT_ID,
    DESCOPE_TENANT_ID,
    SCIM_BASE_URL,
    SCIM_TOKEN,
    DemoEnvironment,
    DemoTenant,
    build_demo,
)
from app.emulators.descope import DescopeEmulator
from app.emulators.scim import ScimEmulator
from app.emulators.store import GroupStore, SeedGroup, SeedPerson, StoredGroup, StoredUser

__all__ = [
    "CONDECO_BASE_URL",
    "CONDECO_CLIENT_ID",
    "CONDECO_CLIENT_SECRET",
    "DESCOPE_ACCESS_KEY",
    "DESCOPE_BASE_URL",
    "DESCOPE_MANAGEMENT_KEY",
    "DESCOPE_PROJECT_ID",
    "DESCOPE_TENANT_ID",
    "SCIM_BASE_URL",
    "SCIM_TOKEN",
    "CondecoEmulator",
    "DemoEnvironment",
    "DemoTenant",
    "DescopeEmulator",
    "Faults",
    "GroupStore",
    "RequestLog",
    "ScimEmulator",
    "ScimHTTPError",
    "SeedGroup",
    "SeedPerson",
    "StoredGroup",
    "StoredUser",
    "build_demo",
]
