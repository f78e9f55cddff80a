"""The operator sections of the config file: ``[cors]``, ``[trusted_documents]``, ``[tracing]``.

Kept apart from :mod:`app.config` (which embeds them in :class:`app.config.Settings`) so the
tenant and client schema stays readable. Everything is closed by default: no ``[cors]`` means
no cross-origin browser access at all, no ``[trusted_documents]`` means no manifest.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?$"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CorsConfig(_Strict):
    """Browsers on these exact origins may call ``/graphql``; an empty list (the default)
    adds no CORS headers at all, so every cross-origin browser call is refused."""

    allow_origins: list[str] = []
    """Exact origins, ``scheme://host[:port]`` with no path; ``*`` is refused."""
    allow_credentials: bool = False
    """Let the browser send cookies / HTTP auth; API keys in ``Authorization`` need not."""
    max_age_seconds: Annotated[int, Field(ge=0, le=86400)] = 600
    """How long a browser may cache a preflight answer."""

    @field_validator("allow_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an exact origin (scheme://host[:port], no path, no *)"
                )
        return origins


class TrustedDocumentsConfig(_Strict):
    """A manifest of the operations clients may run by hash (see :mod:`app.trusted_documents`)."""

    manifest: Annotated[str, Field(min_length=1)]
    """A JSON file ``{"sha256:<hex>": "<document>", ...}`` (bare ``<hex>`` keys work too)."""


class TracingConfig(_Strict):
    """The ``[tracing]`` table: OpenTelemetry spans for each GraphQL operation and each
    upstream request (see :mod:`app.observability.tracing`). Off by default, and then the
    schema carries no tracing extension at all."""

    enabled: bool = False
    exporter: Literal["console", "otlp"] = "console"
    """``console`` prints spans on stdout; ``otlp`` sends them over OTLP/HTTP to
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default ``http://localhost:4318``)."""
    service_name: Annotated[str, Field(min_length=1, max_length=200)] = "scim-gateway"
    """The ``service.name`` resource attribute."""
    sample_ratio: Annotated[float, Field(ge=0, le=1)] = 1.0
    """Share of new traces recorded; a caller's sampled ``traceparent`` is always followed."""
