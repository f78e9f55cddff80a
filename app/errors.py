"""Every failure the gateway reports, and the one list of codes clients can rely on.

The tree::

    GatewayError                      code                  SCIM status / scimType
    ├── Unauthenticated               UNAUTHENTICATED       401
    ├── Forbidden                     FORBIDDEN             403
    ├── NotFound                      NOT_FOUND             404
    ├── BadUserInput                  BAD_USER_INPUT        400 invalidFilter, invalidValue, ...
    ├── Conflict                      CONFLICT              409 uniqueness
    ├── PreconditionFailed            PRECONDITION_FAILED   412 (If-Match did not match)
    ├── RateLimited                   RATE_LIMITED          429
    └── UpstreamError                 UPSTREAM_ERROR        any other unusable upstream answer
        ├── UpstreamUnavailable       UPSTREAM_UNAVAILABLE  connection refused, 502/503
        └── UpstreamTimeout           UPSTREAM_TIMEOUT      connect/read timeout, 504

Each error carries ``extensions`` (``code`` and, where one is involved, ``tenant``), which
graphql-core copies onto the GraphQL error. Anything that is not a ``GatewayError`` is masked
by the schema before it reaches a client.

Adapters raise these; they translate httpx and upstream errors once, in
:func:`error_from_status` and at their send step. Messages never carry credentials.
"""

from __future__ import annotations

from typing import Any, ClassVar

CODES = (
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "PRECONDITION_FAILED",
    "UPSTREAM_ERROR",
    "UPSTREAM_UNAVAILABLE",
    "UPSTREAM_TIMEOUT",
    "RATE_LIMITED",
)


class GatewayError(Exception):
    """Base of every error a client may see, with a stable ``code``."""

    code: ClassVar[str] = "UPSTREAM_ERROR"

    def __init__(
        self,
        message: str,
        *,
        tenant: str | None = None,
        status: int | None = None,
        scim_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.tenant = tenant
        self.status = status
        self.scim_type = scim_type

    @property
    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"code": self.code}
        if self.tenant is not None:
            ext["tenant"] = self.tenant
        if self.status is not None:
            ext["upstreamStatus"] = self.status
        if self.scim_type is not None:
            ext["scimType"] = self.scim_type
        return ext

    def for_tenant(self, tenant: str) -> GatewayError:
        """Name the tenant involved, unless one is named already."""
        if self.tenant is None:
            self.tenant = tenant
        return self


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class Forbidden(GatewayError):
    code = "FORBIDDEN"


class NotFound(GatewayError):
    code = "NOT_FOUND"


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class Conflict(GatewayError):
    code = "CONFLICT"


class PreconditionFailed(GatewayError):
    code = "PRECONDITION_FAILED"


class RateLimited(GatewayError):
    code = "RATE_LIMITED"


class UpstreamError(GatewayError):
    code = "UPSTREAM_ERROR"


class UpstreamUnavailable(UpstreamError):
    code = "UPSTREAM_UNAVAILABLE"


class UpstreamTimeout(UpstreamError):
    code = "UPSTREAM_TIMEOUT"


# RFC 7644 §3.12, table 9: scimType values of a 400 are the client's fault, as are 409/412.
_BY_SCIM_TYPE: dict[str, type[GatewayError]] = {
    "invalidFilter": BadUserInput,
    "tooMany": BadUserInput,
    "invalidSyntax": BadUserInput,
    "invalidPath": BadUserInput,
    "noTarget": BadUserInput,
    "invalidValue": BadUserInput,
    "invalidVers": BadUserInput,
    "mutability": BadUserInput,
    "sensitive": BadUserInput,
    "uniqueness": Conflict,
}

_BY_STATUS: dict[int, type[GatewayError]] = {
    400: BadUserInput,
    401: UpstreamError,  # the gateway's own credentials were refused: not the client's fault
    403: UpstreamError,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: BadUserInput,
    429: RateLimited,
    502: UpstreamUnavailable,
    503: UpstreamUnavailable,
    504: UpstreamTimeout,
}


def error_from_status(
    status: int, detail: str | None, scim_type: str | None, *, tenant: str | None = None
) -> GatewayError:
    """Map an upstream SCIM error (RFC 7644 §3.12) onto the gateway's error tree."""
    cls = _BY_SCIM_TYPE.get(scim_type or "") or _BY_STATUS.get(status)
    if cls is None:
        cls = UpstreamError
    if status in (401, 403):
        message = f"the upstream directory refused the gateway's credentials (HTTP {status})"
    else:
        message = detail or f"upstream answered HTTP {status}"
    return cls(message, tenant=tenant, status=status, scim_type=scim_type)
