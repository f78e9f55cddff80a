"""A genuine RFC 7644 server: the third-party ``scim2-server``, behind a bearer token.

This is the "any standards-compliant directory" backend. The SCIM behaviour is entirely
scim2-server's (``/v2`` prefix, ``application/scim+json``, ETags, ``/.search``,
ServiceProviderConfig without auth per RFC 7643 §5); we add a bearer-token check (as
``scim2_server.testserver.application.BearerTokenApplication`` does for WSGI), deterministic
seeding, and the shared counting/fault middleware.

Speed, measured on the dev container: seeding through ``POST`` costs ~5 ms a group, so
:meth:`ScimEmulator.load` builds the pydantic resources itself and bulk-inserts them through
``InMemoryStorage.resources`` (600 users and 200 groups of 20 members: ~0.4 s). Serving a
list of 200 groups x 20 members takes ~1.0-1.4 s, nearly all of it scim2-server deep-copying and
serializing pydantic models, so benchmarks should expect this backend to be the slow one.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from scim2_models import (
    Email,
    Group,
    GroupMember,
    Meta,
    Resource,
    ScimProvider,
    UnauthorizedException,
    User,
)
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage, InMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.routing import ROUTES, match_pattern
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)
from starlette.types import ASGIApp, Scope

from app.emulators.common import EmulatorMiddleware, Faults, RequestLog
from app.emulators.store import SeedGroup, SeedPerson

SCIM_CONTENT_TYPE = "application/scim+json"


@functools.cache
def bearer_provider() -> ScimProvider:
    """RFC 7643 schemas and resource types, announcing bearer auth (built once: ~0.2 s)."""
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    return ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )


class BearerTokenASGIApplication(ASGIApplication):
    """scim2-server's ASGI app refusing requests without one of ``tokens`` (RFC 6750 §2.1)."""

    def __init__(
        self, storage: AsyncInMemoryStorage, provider: ScimProvider, tokens: Iterable[str]
    ):
        super().__init__(storage, provider)
        self.tokens = set(tokens)

    def check_auth(self, request: ScimRequest) -> None:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            raise UnauthorizedException


def scim2_route_key(scope: Scope) -> str:
    """``"GET /v2/Groups/{id}"``-style keys from scim2-server's own route table."""
    method, path = scope["method"], scope["path"]
    prefix = "/v2" if path == "/v2" or path.startswith("/v2/") else ""
    rest = path.removeprefix(prefix).removesuffix(".scim")
    segments = rest.strip("/").split("/") if rest.strip("/") else []
    for route in ROUTES:
        values = match_pattern(route.pattern, segments)
        if values is not None and route.method == method:
            template = route.pattern.replace("{endpoint}", values.get("endpoint", ""))
            return f"{method} {prefix}{template.replace('{resource_id}', '{id}')}"
    return f"{method} {path}"


class ScimEmulator:
    """scim2-server under ``/v2`` with bearer ``token``; ``.app``, ``.log``, ``.faults``."""

    def __init__(self, token: str, *, seed: int = 0) -> None:
        self.token = token
        self.rng = random.Random(seed)
        self.storage = InMemoryStorage()
        self.log = RequestLog()
        self.faults = Faults(seed)
        self.scim_app = BearerTokenASGIApplication(
            AsyncInMemoryStorage(self.storage), bearer_provider(), [token]
        )
        self.app = EmulatorMiddleware(
            # scim2-server types its scope as dict, Starlette as MutableMapping: same protocol.
            cast(ASGIApp, self.scim_app),
            log=self.log,
            faults=self.faults,
            route_key=scim2_route_key,
            content_type=SCIM_CONTENT_TYPE,
        )

    def new_id(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).hex

    def load(self, people: Sequence[SeedPerson], groups: Iterable[SeedGroup]) -> list[str]:
        """Bulk-insert Users (``userName`` = email) and Groups; returns the user ids in order."""
        now = datetime.now(UTC)
        users: list[User[Any]] = [
            User(
                id=self.new_id(),
                user_name=person.email,
                display_name=person.display,
                emails=[Email(value=person.email, primary=True)],
                meta=self._meta("User", now),
            )
            for person in people
        ]
        new: list[Resource[Any]] = list(users)
        for group in groups:
            members = [
                GroupMember(value=users[i].id, display=users[i].display_name, type="User")
                for i in group.members
            ]
            new.append(
                Group(
                    id=self.new_id(),
                    display_name=group.display_name,
                    external_id=group.external_id,
                    members=members,
                    meta=self._meta("Group", now),
                )
            )
        self.storage.resources = [*self.storage.resources, *new]
        return [str(user.id) for user in users]

    def _meta(self, resource_type: str, now: datetime) -> Meta:
        return Meta(
            resource_type=resource_type,
            created=now,
            last_modified=now,
            version=self.storage.next_version(),
        )
