"""The per-request GraphQL context: who is calling, which tenants they may see, and loaders."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from app.auth import Principal
from app.errors import GatewayError, NotFound
from app.gateway import Gateway, Tenant
from app.loaders import Loaders, ManyLoader


class Context:
    def __init__(
        self, gateway: Gateway, principal: Principal | None, auth_error: GatewayError | None
    ) -> None:
        self.gateway = gateway
        self._principal = principal
        self.auth_error = auth_error
        self.loaders = Loaders(gateway.tenants)
        self.nodes: dict[tuple[str, str], tuple[Any, Any]] = {}
        """GraphQL objects made from records in this request, by (tenant, SCIM id)."""
        self.group_lists: dict[tuple[str, bool], ManyLoader[str, Any]] = {}
        """Per tenant, and for selections that need groups whole or only their names, the
        loader of members' groups as GraphQL objects (``types.group_lists``)."""
        self.selections: dict[tuple[Any, ...], bool] = {}
        """``selection.wants`` and ``wants_only`` answers of this request, by field node."""
        self.partial_errors: list[GraphQLError] = []
        """Errors of one tenant inside an answer that still carries the others' data."""
        self.encode_early = False
        """Whether subtrees may be encoded as they complete (``orjson.Fragment``): only where
        the answer is encoded with orjson (the HTTP view's common request)."""
        self._kept: list[Any] = []

    def keep_until_closed(self, held: Any) -> None:
        """Hold ``held`` (the answer's completed objects) until :meth:`close`, so that freeing
        them happens after the answer is written rather than on its way to the client."""
        self._kept.append(held)

    def close(self) -> None:
        """Drop what the request made, once its answer is written. The loaders and caches
        refer back to this context, so without this a page's thousands of objects would wait
        for the cycle collector, whose pauses then grow with the garbage (tens of ms)."""
        self.loaders.close()
        self.nodes.clear()
        self.group_lists.clear()
        self.selections.clear()
        self._kept.clear()

    def restart(self) -> None:
        """Start the operation over (it ran on answers assumed, and one came back otherwise):
        nothing made or loaded so far is used again."""
        self.close()
        self.loaders = Loaders(self.gateway.tenants)
        self.partial_errors.clear()

    @property
    def principal(self) -> Principal:
        if self._principal is None:
            assert self.auth_error is not None
            raise self.auth_error
        return self._principal

    def readable_tenants(self) -> list[Tenant]:
        principal = self.principal
        return [t for t in self.gateway.tenants.values() if principal.can_read(t.id)]

    def find_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant if it exists and the caller may see it; unknown and forbidden look alike."""
        tenant = self.gateway.tenants.get(tenant_id)
        if tenant is None or not self.principal.can_read(tenant_id):
            return None
        return tenant

    def tenant(self, tenant_id: str) -> Tenant:
        tenant = self.find_tenant(tenant_id)
        if tenant is None:
            raise NotFound(f"no tenant {tenant_id!r}")
        return tenant

    def forget_group(self, tenant_id: str, group_id: str) -> None:
        """After a write: drop the group and every member's group list made from it."""
        self.loaders[tenant_id].forget_group(group_id)
        for names_only in (False, True):
            lists = self.group_lists.get((tenant_id, names_only))
            if lists is not None:
                lists.clear()

    def writable_tenant(self, tenant_id: str) -> Tenant:
        tenant = self.tenant(tenant_id)
        self.principal.require_admin()
        return tenant
