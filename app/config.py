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

from app.ids import TENANT_ID_PATTERN

CONFIG_ENV = "SCIM_GATEWAY_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file, which key and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantBase(_Strict):
    id: Annotated[str, Field(pattern=TENANT_ID_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    """Connect/read/write timeout of each upstream request."""
    max_connections: Annotated[int, Field(ge=1, le=1000)] = 20
    """Size of this tenant's HTTP connection pool."""


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


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    tenants: Annotated[list[TenantConfig], Field(min_length=1)]
    clients: list[ClientConfig] | None = None

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
