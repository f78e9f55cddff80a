"""Who is calling: API keys from ``[[clients]]``, compared in constant time.

Without ``[[clients]]`` the gateway is open (an admin on every tenant) and says so at start-up.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from app.errors import Forbidden, Unauthenticated


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str
    tenants: frozenset[str] | None
    """The tenants this caller may see; ``None`` means all of them."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_read(self, tenant: str) -> bool:
        return self.tenants is None or tenant in self.tenants

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this key may only read; mutations need an admin key")


OPEN_ACCESS = Principal(name="anonymous", role="admin", tenants=None)


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: bytes
    principal: Principal


class Authenticator:
    """Maps an ``Authorization`` header to a :class:`Principal`."""

    def __init__(self, keys: Iterable[ApiKey] | None) -> None:
        self._keys = list(keys) if keys is not None else None

    @property
    def is_open(self) -> bool:
        return self._keys is None

    def authenticate(self, authorization: str | None) -> Principal:
        if self._keys is None:
            return OPEN_ACCESS
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send Authorization: Bearer <key>")
        presented = token.strip().encode()
        found: Principal | None = None
        # Compare against every key, always, so timing says nothing about which one matched.
        for entry in self._keys:
            if hmac.compare_digest(presented, entry.key):
                found = entry.principal
        if found is None:
            raise Unauthenticated("unknown API key")
        return found
