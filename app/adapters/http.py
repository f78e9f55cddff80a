"""The one send step: every upstream request goes through :class:`Upstream`, which translates
httpx exceptions and upstream error answers into :mod:`app.errors`, once.

Error bodies are read as RFC 7644 §3.12 (``status`` as a string or a number, ``scimType``,
``detail``) or as Descope management errors (``errorCode``, ``errorDescription``,
``errorMessage``). Messages name the method and path, never headers or credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from app.errors import (
    GatewayError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_from_status,
)

JSON_TYPES = ("application/json", "application/scim+json")
SCIM_JSON = "application/scim+json"


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower()


def error_detail(body: bytes) -> tuple[str | None, str | None]:
    """``(detail, scimType)`` of an error body, whatever it holds (it may be empty, or HTML)."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, Mapping):
        return None, None
    detail = data.get("detail") or data.get("errorMessage") or data.get("errorDescription")
    scim_type = data.get("scimType")
    return (
        str(detail)[:500] if detail else None,
        scim_type if isinstance(scim_type, str) else None,
    )


class Upstream:
    """Sends requests for one tenant over a pooled client it does not own."""

    def __init__(self, tenant_id: str, client: httpx.AsyncClient) -> None:
        self.tenant_id = tenant_id
        self.client = client

    def _fail(self, error: GatewayError) -> GatewayError:
        return error.for_tenant(self.tenant_id)

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request; return its JSON body, or ``None`` when it has none (204)."""
        all_headers = {"Accept": f"{SCIM_JSON}, application/json"}
        content: bytes | None = None
        if json is not None:
            content = orjson.dumps(json)
            all_headers["Content-Type"] = SCIM_JSON
        all_headers.update(headers or {})
        where = f"{method} {url}"
        try:
            response = await self.client.request(
                method, url, headers=all_headers, params=params, content=content, data=data
            )
        except httpx.TimeoutException as exc:
            raise self._fail(UpstreamTimeout(f"upstream timed out on {where}")) from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            # ConnectError, ReadError, RemoteProtocolError, ...: the directory is unreachable.
            kind = type(exc).__name__
            raise self._fail(
                UpstreamUnavailable(f"upstream unreachable on {where} ({kind})")
            ) from exc
        return self.read(response, where)

    def read(self, response: httpx.Response, where: str) -> Any:
        """The JSON body of a 2xx answer, or the translated error of any other."""
        if not response.is_success:
            detail, scim_type = error_detail(response.content)
            raise self._fail(error_from_status(response.status_code, detail, scim_type))
        if not response.content:
            return None
        media = _media_type(response)
        if media not in JSON_TYPES:
            raise self._fail(
                UpstreamError(f"upstream sent {media or 'no content type'} on {where}")
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise self._fail(UpstreamError(f"upstream sent malformed JSON on {where}")) from exc
