"""Condeco: SCIM groups at ``/scim/api/V1/groups`` behind a client-credentials token.

Wire contract: ``/work/shared/seeds/condeco-scim-groups.txt``. POST answers 201 without
``members`` (so :meth:`CondecoAdapter.create_group` returns the new id to read back), PUT 200
without ``members`` and PATCH 204 (both ``None``). Ids look like ``G602``, member values like
``"265"``, and dates carry no zone (read as UTC).

Where the seed is silent: the token exchange (``POST <token_url>`` with form fields
``scimClientId``, ``scimClientSecret``, ``grantType=password``, answering ``{accessToken,
tokenType, expiresIn}``); no users endpoint, so a member is described by the groups listing it;
no ``POST /.search``, sort or ETags; pages of at most 200 (the seed's ``itemsPerPage``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Unpack

import httpx

from app.adapters.scim import SMALL_TENANT_GROUPS, ScimAdapter, SendOptions
from app.errors import BadUserInput, UpstreamError
from app.models import (
    BackendKind,
    Capabilities,
    GroupDraft,
    GroupPatch,
    GroupRecord,
    MemberRecord,
)
from app.resilience import Resilience

CONDECO_CAPABILITIES = Capabilities(
    patch=True,
    filter=True,
    filter_max_results=200,
    sort=False,
    etag=False,
    max_page_size=200,
    max_filter_terms=50,
)

# A token is renewed this long before ``expiresIn`` runs out (at most a tenth of its life).
TOKEN_MARGIN_SECONDS = 60.0
# When the token answer has no ``expiresIn``: assume a short life, renew often.
DEFAULT_TOKEN_LIFETIME = 300.0


class CondecoAdapter(ScimAdapter):
    """One Condeco customer. ``clock`` (seconds, monotonic) is injectable for tests."""

    kind = BackendKind.CONDECO
    groups_path = "scim/api/V1/groups"
    content_type = "application/json"  # a .NET API; the seed shows no media type
    post_search = False

    def __init__(
        self,
        tenant_id: str,
        client: httpx.AsyncClient,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float] = time.monotonic,
        resilience: Resilience | None = None,
        whole_tenant_groups: int = SMALL_TENANT_GROUPS,
    ) -> None:
        super().__init__(
            tenant_id, client, resilience=resilience, whole_tenant_groups=whole_tenant_groups
        )
        self._token_url = token_url
        self._credentials = {
            "scimClientId": client_id,
            "scimClientSecret": client_secret,
            "grantType": "password",
        }
        self._clock = clock
        self._access_token: str | None = None
        self._renew_at = 0.0
        self._token_lock = asyncio.Lock()

    async def _read_capabilities(self) -> Capabilities:
        return CONDECO_CAPABILITIES

    # -- token -----------------------------------------------------------------------------

    async def _token(self, *, refused: str | None = None) -> str:
        """The cached token, fetched by one caller while the others wait (single flight).

        ``refused`` is a token the server just answered 401 to: renew it unless another
        caller already has, so 50 concurrent 401s cost one token request.
        """
        async with self._token_lock:
            token = self._access_token
            if token is None or token == refused or self._clock() >= self._renew_at:
                token = await self._fetch_token()
            return token

    async def _fetch_token(self) -> str:
        try:
            # A token request changes nothing in the directory: safe to retry like a read.
            data = await self._upstream.send(
                "POST", self._token_url, data=self._credentials, idempotent=True
            )
        except BadUserInput as exc:  # a 400 from the token endpoint is our configuration's fault
            raise UpstreamError(
                f"the Condeco token endpoint refused the gateway's request (HTTP {exc.status})",
                tenant=self.tenant_id,
                status=exc.status,
            ) from exc
        token = data.get("accessToken") if isinstance(data, Mapping) else None
        if not isinstance(token, str) or not token:
            raise UpstreamError(
                "upstream sent a token answer without accessToken", tenant=self.tenant_id
            )
        lifetime = data.get("expiresIn")
        lifetime = float(lifetime) if isinstance(lifetime, int | float) else DEFAULT_TOKEN_LIFETIME
        self._access_token = token
        self._renew_at = self._clock() + lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 10)
        return token

    async def _send(self, method: str, url: str, **options: Unpack[SendOptions]) -> Any:
        """Send with the current token; on a 401, renew it once and retry once (a 401 means
        the request was not served, so even a POST is safe to resend)."""
        token = await self._token()
        for attempt in (1, 2):
            try:
                return await self._send_as(_bearer(token), method, url, **options)
            except UpstreamError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
            token = await self._token(refused=token)
        raise AssertionError("unreachable")  # the loop returns or raises

    # -- Condeco's answers -----------------------------------------------------------------

    async def get_members(self, member_ids: Sequence[str]) -> list[MemberRecord | Exception]:
        """No users endpoint: ``members eq`` or-filters, chunked; display from the entry."""
        return await self._members_from_groups(member_ids)

    async def create_group(self, draft: GroupDraft) -> GroupRecord | str:
        """POST answers 201 without ``members``: return the new id, the caller reads it back."""
        created = await super().create_group(draft)
        return created.id if isinstance(created, GroupRecord) else created

    async def replace_group(
        self, group_id: str, draft: GroupDraft, *, if_match: str | None = None
    ) -> GroupRecord | None:
        """PUT answers 200 without ``members``: ``None``, read it back."""
        await super().replace_group(group_id, draft, if_match=if_match)
        return None

    async def patch_group(
        self, group_id: str, patch: GroupPatch, *, if_match: str | None = None
    ) -> GroupRecord | None:
        """PATCH answers 204: ``None``."""
        await super().patch_group(group_id, patch, if_match=if_match)
        return None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
