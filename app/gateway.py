"""Wiring: one place that turns :class:`Settings` into live tenants with pooled HTTP clients.

:func:`open_gateway` is entered by the app's lifespan; it opens one ``httpx.AsyncClient`` per
tenant (its own connection pool, timeouts and base URL, on :mod:`app.adapters.transport`) and
closes them all on the way out.
Tests and the demo pass ``transports`` to route a tenant's client to an in-process ASGI app.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import httpx

from app.adapters.base import GroupBackend
from app.adapters.condeco import CondecoAdapter
from app.adapters.descope import DescopeAdapter
from app.adapters.http import ACCEPT
from app.adapters.scim import ScimAdapter
from app.adapters.transport import UpstreamClient, upstream_transport
from app.auth import ApiKey, Authenticator, Principal
from app.config import (
    CondecoTenant,
    DescopeTenant,
    ScimTenant,
    Settings,
    TenantConfig,
    resolve_secret,
)
from app.models import BackendKind
from app.resilience import CircuitBreaker, Resilience, RetryPolicy
from app.send_order import AnswerTimes


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    kind: BackendKind
    backend: GroupBackend
    breaker: CircuitBreaker
    """The breaker the backend's send step consults; read for readiness and metrics."""
    whole_reads: AnswerTimes = field(default_factory=AnswerTimes)
    """How long its whole reads take to answer, to send a slow tenant's first (send_order)."""


@dataclass(frozen=True, slots=True)
class Gateway:
    tenants: dict[str, Tenant]
    authenticator: Authenticator


def resilience(cfg: TenantConfig) -> Resilience:
    """The tenant's retry policy, circuit breaker and concurrency cap, from its knobs."""
    return Resilience(
        retry=RetryPolicy(
            retries=cfg.retries,
            backoff=cfg.retry_backoff_seconds,
            retry_after_max=cfg.retry_after_max_seconds,
        ),
        breaker=CircuitBreaker(
            cfg.id, failures=cfg.breaker_failures, cooldown=cfg.breaker_cooldown_seconds
        ),
        concurrency=asyncio.Semaphore(cfg.max_concurrent_requests),
    )


def _secret_names(cfg: TenantConfig) -> dict[str, str]:
    """Which config key names which environment variable, for every secret of a tenant."""
    if isinstance(cfg, ScimTenant):
        return {"token_env": cfg.token_env} if cfg.token_env else {}
    if isinstance(cfg, DescopeTenant):
        names = {"access_key_env": cfg.access_key_env}
        if cfg.management_key_env:
            names["management_key_env"] = cfg.management_key_env
        return names
    return {"client_id_env": cfg.client_id_env, "client_secret_env": cfg.client_secret_env}


def _tenant_secrets(cfg: TenantConfig, env: Mapping[str, str]) -> dict[str, str]:
    """Every secret of a tenant, by the config key that names it; ConfigError if one is unset."""
    owner = f"tenant {cfg.id!r}"
    return {
        key: resolve_secret(name, owner=owner, key=key, env=env)
        for key, name in _secret_names(cfg).items()
    }


def _adapter(
    cfg: TenantConfig, client: httpx.AsyncClient, env: Mapping[str, str], guard: Resilience
) -> GroupBackend:
    secrets = _tenant_secrets(cfg, env)
    if isinstance(cfg, ScimTenant):
        return ScimAdapter(
            cfg.id,
            client,
            token=secrets.get("token_env"),
            resilience=guard,
            whole_tenant_groups=cfg.whole_tenant_reads_up_to,
        )
    if isinstance(cfg, DescopeTenant):
        return DescopeAdapter(
            cfg.id,
            client,
            resilience=guard,
            project_id=cfg.project_id,
            descope_tenant_id=cfg.descope_tenant_id,
            access_key=secrets["access_key_env"],
            management_key=secrets.get("management_key_env"),
            whole_tenant_groups=cfg.whole_tenant_reads_up_to,
        )
    assert isinstance(cfg, CondecoTenant)
    return CondecoAdapter(
        cfg.id,
        client,
        resilience=guard,
        token_url=cfg.token_url,
        client_id=secrets["client_id_env"],
        client_secret=secrets["client_secret_env"],
        whole_tenant_groups=cfg.whole_tenant_reads_up_to,
    )


def check_secrets(settings: Settings, env: Mapping[str, str]) -> None:
    """Fail now, with every tenant's and client's missing variable named, not at first use."""
    for cfg in settings.tenants:
        _tenant_secrets(cfg, env)
    build_authenticator(settings, env)


def build_authenticator(settings: Settings, env: Mapping[str, str]) -> Authenticator:
    if settings.clients is None:
        return Authenticator(None)
    keys = []
    for client in settings.clients:
        owner = f"client {client.name!r}"
        key = resolve_secret(client.key_env, owner=owner, key="key_env", env=env)
        tenants = None if "*" in client.tenants else frozenset(client.tenants)
        keys.append(ApiKey(key.encode(), Principal(client.name, client.role, tenants)))
    return Authenticator(keys)


@asynccontextmanager
async def open_gateway(
    settings: Settings,
    *,
    env: Mapping[str, str] | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> AsyncIterator[Gateway]:
    """Open every tenant's pooled client, yield the live gateway, close them all."""
    env = dict(os.environ) if env is None else env
    transports = transports or {}
    authenticator = build_authenticator(settings, env)
    async with AsyncExitStack() as stack:
        tenants: dict[str, Tenant] = {}
        for cfg in settings.tenants:
            limits = httpx.Limits(
                max_connections=cfg.max_connections,
                max_keepalive_connections=cfg.max_connections,
            )
            client = await stack.enter_async_context(
                UpstreamClient(
                    base_url=cfg.base_url,
                    timeout=httpx.Timeout(cfg.timeout_seconds, connect=cfg.connect_timeout_seconds),
                    limits=limits,
                    transport=transports.get(cfg.id) or upstream_transport(limits),
                    headers={
                        "User-Agent": "scim-gateway",
                        "Accept": ACCEPT,
                    },
                )
            )
            kind = BackendKind(cfg.backend)
            guard = resilience(cfg)
            assert guard.breaker is not None  # resilience() always builds one
            backend = _adapter(cfg, client, env, guard)
            tenants[cfg.id] = Tenant(cfg.id, cfg.name, kind, backend, guard.breaker)
        yield Gateway(tenants, authenticator)
