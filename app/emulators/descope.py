"""Descope, emulated: one project hosting several tenants' SCIM groups and the management API.

Wire contract: ``/work/shared/seeds/descope-scim-groups.txt`` (SCIM, bearer
``<ProjectId>:<AccessKey>``, one access key bound to one tenant) and
``descope-mgmt-external-groups.txt`` (management API, bearer ``<ProjectId>:<ManagementKey>``).
The management API's "external groups" are the tenant's SCIM groups: same ids, ``display`` is
the ``displayName``, ``userId`` the member ``value`` and ``loginId`` the user's email.

Choices where the seeds are silent: lists default to and cap at ``max_page_size`` (200);
SCIM error bodies carry ``status`` as a number, as the seed's response type
(``status?: number``) says; ``members`` is always present on a group (``[]`` when empty) unless
``excludedAttributes=members``; a client-chosen ``id`` on POST is honoured (the seed says the
groupId can be configured); member values the tenant does not know are stored without
``display``.
"""

from __future__ import annotations

import random
import string
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.emulators import descope_mgmt as mgmt
from app.emulators.common import (
    GROUP_SCHEMA,
    LIST_SCHEMA,
    EmulatorMiddleware,
    Faults,
    RequestLog,
    ScimHTTPError,
    base_url,
    bearer_token,
    comma_list,
    isoformat_z,
    json_bytes,
    read_json,
    scim_error_body,
    starlette_route_key,
)
from app.emulators.patching import apply_patch, read_group
from app.emulators.store import (
    GroupStore,
    SeedGroup,
    SeedPerson,
    StoredGroup,
    StoredUser,
    parse_paging,
)

_ALPHANUMERIC = string.ascii_letters + string.digits
Handler = Callable[[Request], Awaitable[Response]]


class DescopeEmulator:
    """Descope project ``project_id`` with ``tenants`` (tenant id -> SCIM access key).

    ``.app`` is the ASGI app, ``.log`` counts requests, ``.faults`` injects misbehaviour and
    ``.store(tenant_id)`` is a tenant's :class:`GroupStore`.
    """

    def __init__(
        self,
        project_id: str,
        tenants: Mapping[str, str],
        management_key: str,
        *,
        seed: int = 0,
        max_page_size: int = 200,
    ) -> None:
        self.project_id = project_id
        self.management_key = management_key
        self.max_page_size = max_page_size
        self.rng = random.Random(seed)
        self.log = RequestLog()
        self.faults = Faults(seed)
        self._stores: dict[str, GroupStore] = {}
        self._access_keys: dict[str, str] = {}
        for tenant_id, access_key in tenants.items():
            self.add_tenant(tenant_id, access_key)
        routes = [
            Route("/scim/v2/Groups", self._scim(self._list), methods=["GET"]),
            Route("/scim/v2/Groups", self._scim(self._create), methods=["POST"]),
            Route("/scim/v2/Groups/{id}", self._scim(self._read), methods=["GET"]),
            Route("/scim/v2/Groups/{id}", self._scim(self._replace), methods=["PUT"]),
            Route("/scim/v2/Groups/{id}", self._scim(self._patch), methods=["PATCH"]),
            Route("/scim/v2/Groups/{id}", self._scim(self._delete), methods=["DELETE"]),
            Route("/v1/mgmt/group/all", self._mgmt(mgmt.all_groups), methods=["POST"]),
            Route(
                "/v1/mgmt/group/member/all", self._mgmt(mgmt.groups_of_members), methods=["POST"]
            ),
            Route("/v1/mgmt/group/members", self._mgmt(mgmt.group_with_members), methods=["POST"]),
        ]
        self.app = EmulatorMiddleware(
            Starlette(routes=routes),
            log=self.log,
            faults=self.faults,
            route_key=starlette_route_key(routes),
            status_as_text=False,
        )

    # -- tenants and seeding ---------------------------------------------------------------

    def add_tenant(self, tenant_id: str, access_key: str) -> GroupStore:
        store = GroupStore(new_id=lambda: self.new_id(self.rng.choice(string.ascii_uppercase)))
        self._stores[tenant_id] = store
        self._access_keys[access_key] = tenant_id
        return store

    def store(self, tenant_id: str) -> GroupStore:
        return self._stores[tenant_id]

    def new_id(self, prefix: str) -> str:
        """A 27-character Descope-style id (``U2...`` for users), drawn from the seeded rng."""
        return prefix + "".join(self.rng.choices(_ALPHANUMERIC, k=27 - len(prefix)))

    def load(
        self, tenant_id: str, people: Sequence[SeedPerson], groups: Iterable[SeedGroup]
    ) -> list[str]:
        """Seed a tenant; returns the user ids given to ``people``, in order."""
        store = self.store(tenant_id)
        user_ids = []
        for person in people:
            user = StoredUser(self.new_id("U2"), person.display, person.email)
            store.add_user(user)
            user_ids.append(user.id)
        for group in groups:
            members = [(user_ids[i], None) for i in group.members]
            store.create(group.display_name, group.external_id, members)
        return user_ids

    # -- SCIM ------------------------------------------------------------------------------

    def _scim(self, handler: Callable[[Request, GroupStore], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request, self._scim_tenant(request))
            except ScimHTTPError as exc:
                body = scim_error_body(exc.status, exc.detail, exc.scim_type, status_as_text=False)
                return _json(body, exc.status)

        return endpoint

    def _scim_tenant(self, request: Request) -> GroupStore:
        project, _, key = bearer_token(request).partition(":")
        tenant_id = self._access_keys.get(key) if project == self.project_id else None
        if tenant_id is None:
            raise ScimHTTPError(401, "Invalid or missing ProjectId:AccessKey bearer token")
        return self._stores[tenant_id]

    async def _list(self, request: Request, store: GroupStore) -> Response:
        query = request.query_params
        start, count = parse_paging(
            query, default_count=self.max_page_size, max_count=self.max_page_size
        )
        page = store.search(
            query.get("filter"),
            start,
            count,
            sort_by=query.get("sortBy"),
            descending=query.get("sortOrder", "").lower() == "descending",
        )
        with_members = _wants_members(query.get("attributes"), query.get("excludedAttributes"))
        base = base_url(request)
        body = {
            "schemas": [LIST_SCHEMA],
            "totalResults": page.total,
            "startIndex": page.start_index,
            "itemsPerPage": len(page.groups),
            "Resources": [group_body(g, base, with_members) for g in page.groups],
        }
        return _json(body)

    async def _create(self, request: Request, store: GroupStore) -> Response:
        fields = read_group(await read_json(request))
        group = store.create(
            fields.display_name, fields.external_id, fields.members, group_id=fields.id
        )
        return _json(group_body(group, base_url(request)), 201)

    async def _read(self, request: Request, store: GroupStore) -> Response:
        query = request.query_params
        group = store.get(request.path_params["id"])
        with_members = _wants_members(query.get("attributes"), query.get("excludedAttributes"))
        return _json(group_body(group, base_url(request), with_members))

    async def _replace(self, request: Request, store: GroupStore) -> Response:
        group = store.get(request.path_params["id"]).copy()
        fields = read_group(await read_json(request))
        group.display_name, group.external_id = fields.display_name, fields.external_id
        group.members = store.resolve_members(fields.members)
        return _json(group_body(store.save(group), base_url(request)))

    async def _patch(self, request: Request, store: GroupStore) -> Response:
        group = store.get(request.path_params["id"])
        patched = apply_patch(group, await read_json(request), store)
        return _json(group_body(store.save(patched), base_url(request)))

    async def _delete(self, request: Request, store: GroupStore) -> Response:
        store.delete(request.path_params["id"])
        return Response(status_code=204)

    # -- management API --------------------------------------------------------------------

    def _mgmt(self, handler: Callable[[dict[str, Any], GroupStore], list[StoredGroup]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            if bearer_token(request) != f"{self.project_id}:{self.management_key}":
                return _json(mgmt.error("E011003", "Unauthorized", "Invalid management key"), 401)
            try:
                body = await read_json(request)
            except ScimHTTPError:
                return _json(mgmt.error("E011001", "Bad request", "Malformed JSON body"), 400)
            tenant_id = body.get("tenantId") if isinstance(body, dict) else None
            if not isinstance(tenant_id, str) or tenant_id not in self._stores:
                message = "Unknown or missing tenantId"
                return _json(mgmt.error("E011001", "Bad request", message), 400)
            try:
                assert isinstance(body, dict)
                store = self._stores[tenant_id]
                groups = handler(body, store)
            except ValueError as exc:
                return _json(mgmt.error("E011001", "Bad request", str(exc)), 400)
            return _json({"groups": [mgmt.external_group(g, store) for g in groups]})

        return endpoint


def group_body(group: StoredGroup, base: str, with_members: bool = True) -> dict[str, Any]:
    """A Descope SCIM group, keys in the seed's order."""
    body: dict[str, Any] = {"displayName": group.display_name, "schemas": [GROUP_SCHEMA]}
    body["id"] = group.id
    if with_members:
        body["members"] = [_member(value, display) for value, display in group.members.items()]
    body["meta"] = {
        "created": isoformat_z(group.created),
        "location": f"{base}/scim/v2/Groups/{group.id}",
        "lastModified": isoformat_z(group.last_modified),
        "resourceType": "Group",
    }
    if group.external_id is not None:
        body["externalId"] = group.external_id
    return body


def _member(value: str, display: str | None) -> dict[str, str]:
    return {"value": value, "display": display} if display is not None else {"value": value}


def _wants_members(attributes: str | None, excluded: str | None) -> bool:
    included = comma_list(attributes)
    if included and "members" not in included:
        return False
    return "members" not in comma_list(excluded)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json_bytes(body), status_code=status, media_type="application/json")
