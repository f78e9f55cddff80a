"""Condeco, emulated: a token endpoint and the SCIM groups API of one Condeco customer.

Wire contract: ``/work/shared/seeds/condeco-scim-groups.txt``. Its quirks, kept on purpose:

- POST (201) and PUT (200) answer the group *without* ``members``, even when it has some;
  GET by id adds ``members`` only when the group has any; lists include them.
- PATCH answers 204 with no body, and takes a PatchOp or a partial Group (seed example 2).
- ``members[value eq "260" and value eq "248"]`` in a remove path means both members.
- ``itemsPerPage`` is the requested ``count`` (200 by default, also the cap), not the number of
  resources on the page; ``filter= displayName eq "HR"`` with its leading space is accepted.
- ids are ``G<n>`` from a sequence, member values numeric strings, dates local without offset
  (``2021-03-09T11:52:17.777``), and error ``status`` a string.

Choices where the seed is silent: the token endpoint (in production on a different host, here
on the same app) takes a form body and answers 401 ``{"error": "invalid_client"}`` (RFC 6749
§5.2) on bad credentials; an expired or revoked token gets a 401 SCIM error;
``excludedAttributes`` is ignored, so lists always carry members.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from itertools import count as counter
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.emulators.common import (
    GROUP_SCHEMA,
    LIST_SCHEMA,
    EmulatorMiddleware,
    Faults,
    RequestLog,
    ScimHTTPError,
    base_url,
    bearer_token,
    json_bytes,
    read_json,
    scim_error_body,
    starlette_route_key,
)
from app.emulators.patching import apply_partial_group, apply_patch, is_partial_group, read_group
from app.emulators.store import (
    GroupStore,
    SeedGroup,
    SeedPerson,
    StoredGroup,
    StoredUser,
    parse_paging,
)

CONTENT_TYPE = "application/json; charset=utf-8"
Handler = Callable[[Request], Awaitable[Response]]


class CondecoEmulator:
    """One Condeco customer reached with ``client_id``/``client_secret``.

    ``.app`` is the ASGI app, ``.log`` counts requests, ``.faults`` injects misbehaviour,
    ``.store`` holds the groups, ``.token_ttl`` (seconds) applies to tokens issued from then on
    and ``.revoke_tokens()`` makes every issued token fail with 401. ``clock`` is injectable so
    tests can expire tokens without sleeping.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        token_ttl: float = 3600,
        first_group_id: int = 500,
        first_user_id: int = 200,
        max_page_size: int = 200,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.max_page_size = max_page_size
        self.clock = clock
        self.rng = random.Random(seed)
        self.log = RequestLog()
        self.faults = Faults(seed)
        group_numbers = counter(first_group_id)
        self._user_numbers = counter(first_user_id)
        self.store = GroupStore(new_id=lambda: f"G{next(group_numbers)}", clock=datetime.now)
        self._tokens: dict[str, float] = {}
        routes = [
            Route("/api/V1/token", self._issue_token, methods=["POST"]),
            Route("/scim/api/V1/groups", self._scim(self._list), methods=["GET"]),
            Route("/scim/api/V1/groups", self._scim(self._create), methods=["POST"]),
            Route("/scim/api/V1/groups/{id}", self._scim(self._read), methods=["GET"]),
            Route("/scim/api/V1/groups/{id}", self._scim(self._replace), methods=["PUT"]),
            Route("/scim/api/V1/groups/{id}", self._scim(self._patch), methods=["PATCH"]),
            Route("/scim/api/V1/groups/{id}", self._scim(self._delete), methods=["DELETE"]),
        ]
        self.app = EmulatorMiddleware(
            Starlette(routes=routes),
            log=self.log,
            faults=self.faults,
            route_key=starlette_route_key(routes),
            content_type=CONTENT_TYPE,
        )

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def load(self, people: Sequence[SeedPerson], groups: Iterable[SeedGroup]) -> list[str]:
        """Seed the directory; returns the numeric user ids given to ``people``, in order."""
        user_ids = []
        for person in people:
            user = StoredUser(str(next(self._user_numbers)), person.display, person.email)
            self.store.add_user(user)
            user_ids.append(user.id)
        for group in groups:
            members = [(user_ids[i], None) for i in group.members]
            self.store.create(group.display_name, group.external_id, members)
        return user_ids

    # -- token -----------------------------------------------------------------------------

    async def _issue_token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        if form.get("grantType") != "password":
            return _json({"error": "unsupported_grant_type"}, 400)
        if (form.get("scimClientId"), form.get("scimClientSecret")) != (
            self.client_id,
            self.client_secret,
        ):
            return _json({"error": "invalid_client", "error_description": "Bad credentials"}, 401)
        token = f"{self.rng.getrandbits(128):032x}"
        self._tokens[token] = self.clock() + self.token_ttl
        return _json({"accessToken": token, "tokenType": "Bearer", "expiresIn": self.token_ttl})

    # -- SCIM ------------------------------------------------------------------------------

    def _scim(self, handler: Callable[[Request], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                expiry = self._tokens.get(bearer_token(request))
                if expiry is None or self.clock() >= expiry:
                    raise ScimHTTPError(401, "Invalid or expired access token")
                return await handler(request)
            except ScimHTTPError as exc:
                return _json(scim_error_body(exc.status, exc.detail, exc.scim_type), exc.status)

        return endpoint

    async def _list(self, request: Request) -> Response:
        query = request.query_params
        start, count = parse_paging(
            query, default_count=self.max_page_size, max_count=self.max_page_size
        )
        page = self.store.search(query.get("filter"), start, count)
        base = base_url(request)
        body = {
            "schemas": [LIST_SCHEMA],
            "Resources": [group_body(g, base, with_members=True) for g in page.groups],
            "totalResults": page.total,
            "startIndex": page.start_index,
            "itemsPerPage": page.count,
        }
        return _json(body)

    async def _create(self, request: Request) -> Response:
        fields = read_group(await read_json(request))
        group = self.store.create(fields.display_name, fields.external_id, fields.members)
        return _json(group_body(group, base_url(request), with_members=False), 201)

    async def _read(self, request: Request) -> Response:
        group = self.store.get(request.path_params["id"])
        return _json(group_body(group, base_url(request), with_members=True))

    async def _replace(self, request: Request) -> Response:
        group = self.store.get(request.path_params["id"]).copy()
        fields = read_group(await read_json(request))
        group.display_name, group.external_id = fields.display_name, fields.external_id
        group.members = self.store.resolve_members(fields.members)
        saved = self.store.save(group)
        return _json(group_body(saved, base_url(request), with_members=False))

    async def _patch(self, request: Request) -> Response:
        group = self.store.get(request.path_params["id"])
        body = await read_json(request)
        if is_partial_group(body):
            patched = apply_partial_group(group, body, self.store)
        else:
            patched = apply_patch(group, body, self.store, and_lists_values=True)
        self.store.save(patched)
        return Response(status_code=204)

    async def _delete(self, request: Request) -> Response:
        self.store.delete(request.path_params["id"])
        return Response(status_code=204)


def group_body(group: StoredGroup, base: str, *, with_members: bool) -> dict[str, Any]:
    """A Condeco group, keys in the seed's order; ``members`` only when asked for and non-empty."""
    body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": group.id}
    if group.external_id is not None:
        body["externalId"] = group.external_id
    body["meta"] = {
        "resourceType": "Group",
        "created": condeco_datetime(group.created),
        "location": f"{base}/scim/api/V1/groups/{group.id}",
    }
    body["displayName"] = group.display_name
    if with_members and group.members:
        body["members"] = [
            {"value": value, "display": display} if display is not None else {"value": value}
            for value, display in group.members.items()
        ]
    return body


def condeco_datetime(moment: datetime) -> str:
    """Local time, no offset, fraction trimmed as .NET does: ``2020-07-02T12:35:01.33``."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond // 1000:03d}".rstrip("0")
    return f"{text}.{fraction}" if fraction else text


def _json(body: Any, status: int = 200) -> Response:
    return Response(json_bytes(body), status_code=status, media_type=CONTENT_TYPE)
