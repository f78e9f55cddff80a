"""Configuration: a TOML file validated by pydantic-settings, secrets only by env-var name.

Reached through :func:`load_settings` (tests pass their own :class:`Settings`). Every
tenant names its backend; each backend kind has its own documented fields. Secrets are never
written in the file: the file names the environment variable that holds each one, and
:func:`resolve_secret` reads it at start-up with an error that names the tenant and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from app.adapters.scim import SMALL_TENANT_GROUPS
from app.ids import TENANT_ID_PATTERN
from app.operator_config import CorsConfig, TracingConfig, TrustedDocumentsConfig

CONFIG_ENV = "SCIM_GATEWAY_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file, which key and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- hardening knobs (README "Hardening knobs"; app/resilience, app/schema/limits.py) -------


class TenantHardening(_Strict):
    """Per tenant: how its upstream requests are retried, cut off and rationed."""

    connect_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 3.0
    """Time to open a connection (``timeout_seconds`` covers reading and writing)."""
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    """Extra attempts for idempotent reads (GET, POST /.search, Descope management reads)."""
    retry_backoff_seconds: Annotated[float, Field(ge=0, le=10)] = 0.1
    """First backoff; doubles per attempt (at most 2 s), fully jittered."""
    retry_after_max_seconds: Annotated[float, Field(ge=0, le=60)] = 5.0
    """Longest ``Retry-After`` honoured; a longer one fails the request at once."""
    breaker_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    """Consecutive failed attempts (transport error, timeout, 5xx) that open the breaker."""
    breaker_cooldown_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """How long an open breaker fails fast before it lets one probe through."""
    max_concurrent_requests: Annotated[int, Field(ge=1, le=1000)] = 20
    """Upstream requests in flight at once for this tenant; more wait their turn."""


class Limits(_Strict):
    """The ``[limits]`` table: what one GraphQL operation may cost."""

    request_deadline_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    """Every operation answers within this (slow tenants' fields become UPSTREAM_TIMEOUT)."""
    max_upstream_requests: Annotated[int, Field(ge=1, le=100_000)] = 500
    """Upstream requests one operation may cause, retries included."""
    max_depth: Annotated[int, Field(ge=1, le=100)] = 10
    max_aliases: Annotated[int, Field(ge=1, le=10_000)] = 30
    max_tokens: Annotated[int, Field(ge=10, le=1_000_000)] = 5000
    max_cost: Annotated[int, Field(ge=1)] = 1_000_000
    """Estimated objects resolved: list sizes (``first``, or 10 per unbounded list) x depth."""
    introspection: bool = True
    """Whether ``__schema``/``__type`` are answered (GraphiQL needs them)."""
    speculate: bool = True
    """Whether a query runs on while reads whose last answers were the same are on the wire,
    from those answers, and again only if one comes back otherwise (app.adapters.speculation):
    the answer is the same, sooner; a change costs the CPU spent ahead."""


class TenantBase(TenantHardening):
    id: Annotated[str, Field(pattern=TENANT_ID_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    """Read/write/pool timeout of each upstream request (connect: connect_timeout_seconds)."""
    max_connections: Annotated[int, Field(ge=1, le=1000)] = 20
    """Size of this tenant's HTTP connection pool."""
    whole_tenant_reads_up_to: Annotated[int, Field(ge=0, le=100_000)] = SMALL_TENANT_GROUPS
    """A page whose members' groups are selected reads the whole tenant's membership
    alongside it (one round trip instead of two, at the price of every group's members)
    while the tenant's last listing counted at most this many groups; 0 turns it off."""


class ScimTenant(TenantBase):
    """Any RFC 7644 server: ``base_url`` is the SCIM root (where ``/Groups`` lives)."""

    backend: Literal["scim"]
    base_url: Annotated[str, Field(pattern=r"^https?://")]
    token_env: str | None = None


class DescopeTenant(TenantBase):
    """A Descope tenant: SCIM with an access key, external groups with a management key."""

    backend: Literal["descope"]
    base_url: Annotated[str, Field(pattern=r"^https?://")] = "https://api.descope.com"
    project_id: Annotated[str, Field(min_length=1)]
    descope_tenant_id: Annotated[str, Field(min_length=1)]
    access_key_env: str
    management_key_env: str | None = None


class CondecoTenant(TenantBase):
    """A Condeco tenant: ``base_url`` is the SCIM domain, ``token_url`` the TP domain's token."""

    backend: Literal["condeco"]
    base_url: Annotated[str, Field(pattern=r"^https?://")]
    token_url: Annotated[str, Field(pattern=r"^https?://")]
    client_id_env: str
    client_secret_env: str


TenantConfig = Annotated[ScimTenant | DescopeTenant | CondecoTenant, Field(discriminator="backend")]


class ClientConfig(_Strict):
    """A caller of the gateway: ``Authorization: Bearer <key>``, key read from ``key_env``."""

    name: Annotated[str, Field(min_length=1)]
    key_env: str
    role: Literal["reader", "admin"] = "reader"
    tenants: Annotated[list[str], Field(min_length=1)]
    trusted_documents_only: bool = False
    """Refuse any document not in the ``[trusted_documents]`` manifest (readers only)."""


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    tenants: Annotated[list[TenantConfig], Field(min_length=1)]
    clients: list[ClientConfig] | None = None
    limits: Limits = Limits()  # hardening knobs: the [limits] table
    # Operator sections (app/operator_config.py): closed unless configured.
    cors: CorsConfig = CorsConfig()
    trusted_documents: TrustedDocumentsConfig | None = None
    tracing: TracingConfig = TracingConfig()

    @model_validator(mode="after")
    def _check_trusted_documents(self) -> Settings:
        for client in self.clients or []:
            if client.trusted_documents_only and client.role == "admin":
                raise ValueError(
                    f"client {client.name!r}: trusted_documents_only is for readers; "
                    "admin keys always keep arbitrary queries"
                )
            if client.trusted_documents_only and self.trusted_documents is None:
                raise ValueError(
                    f"client {client.name!r}: trusted_documents_only needs a "
                    "[trusted_documents] manifest"
                )
        return self

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        ids = [t.id for t in self.tenants]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"tenant ids must be unique, repeated: {', '.join(dupes)}")
        for client in self.clients or []:
            unknown = [t for t in client.tenants if t != "*" and t not in ids]
            if unknown:
                raise ValueError(
                    f"client {client.name!r} names unknown tenants: {', '.join(unknown)}"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what the caller passes (the parsed file): no stray env vars become settings.
        return (init_settings,)


def _toml_source(path: Path) -> dict[str, object]:
    class _FromFile(BaseSettings):
        model_config = SettingsConfigDict(toml_file=path)

    return dict(TomlConfigSettingsSource(_FromFile)())


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read and validate a TOML file; :class:`ConfigError` names the file, the key and why."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{file}: no such config file")
    try:
        data = _toml_source(file)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    try:
        return Settings(**data)  # type: ignore[arg-type]  # validated here
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            # Drop the discriminator tag pydantic adds to union paths ("tenants[0].scim.token_env").
            loc = tuple(p for p in err["loc"] if p not in ("scim", "descope", "condeco"))
            lines.append(f"{file}: {_location(loc) or '(top level)'}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from exc


def resolve_secret(
    env_name: str, *, owner: str, key: str, env: Mapping[str, str] | None = None
) -> str:
    """Read one secret from the environment, or fail naming who needs it (never its value)."""
    value = (os.environ if env is None else env).get(env_name)
    if not value:
        raise ConfigError(
            f"{owner}: {key} names the environment variable {env_name}, which is not set"
        )
    return value
