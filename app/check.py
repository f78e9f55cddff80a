"""``scim-gateway check``: reach every tenant once and say what answered.

For each tenant it reads the capabilities (``GET /ServiceProviderConfig`` where the backend has
one; Descope's and Condeco's are documented, fixed) and asks for one group, which proves the
directory is reachable and takes the gateway's credentials. The table::

    TENANT   BACKEND  REACHABLE  AUTH  LATENCY  CAPABILITIES
    acme     descope  yes        ok    12 ms    patch filter etag page<=100 filter-terms<=50

Exit status: 0 when every tenant answered, 1 when any is unreachable or refused the
credentials, 2 when the configuration cannot be used.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import Forbidden, GatewayError, Unauthenticated, UpstreamTimeout
from app.errors import UpstreamUnavailable as Unreachable
from app.gateway import Gateway, Tenant
from app.models import Capabilities


@dataclass(frozen=True, slots=True)
class TenantCheck:
    tenant: str
    backend: str
    reachable: bool
    auth_ok: bool | None
    """``None`` when it could not be told (the directory was not reached)."""
    latency_ms: float | None
    capabilities: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and self.auth_ok is True and self.error is None


def describe(caps: Capabilities) -> str:
    words = [name for name in ("patch", "filter", "sort", "etag") if getattr(caps, name)]
    words.append(f"page<={caps.max_page_size}")
    words.append(f"filter-terms<={caps.max_filter_terms}")
    if caps.filter_max_results:
        words.append(f"filter-results<={caps.filter_max_results}")
    return " ".join(words)


async def check_tenant(tenant: Tenant) -> TenantCheck:
    kind = tenant.kind.value
    caps = "-"
    started = time.perf_counter()
    try:
        caps = describe(await tenant.backend.capabilities())
        started = time.perf_counter()
        await tenant.backend.search_groups(None, 1, 1, include_members=False)
    except (Unreachable, UpstreamTimeout) as exc:
        return TenantCheck(tenant.id, kind, False, None, None, caps, exc.message)
    except (Unauthenticated, Forbidden) as exc:
        return TenantCheck(tenant.id, kind, True, False, None, caps, exc.message)
    except GatewayError as exc:
        return TenantCheck(tenant.id, kind, True, None, None, caps, exc.message)
    latency = (time.perf_counter() - started) * 1000
    return TenantCheck(tenant.id, kind, True, True, latency, caps)


async def check_gateway(gateway: Gateway) -> list[TenantCheck]:
    return list(await asyncio.gather(*(check_tenant(t) for t in gateway.tenants.values())))


def render(results: Sequence[TenantCheck]) -> str:
    header = ("TENANT", "BACKEND", "REACHABLE", "AUTH", "LATENCY", "CAPABILITIES")
    rows = [header]
    for r in results:
        auth = "?" if r.auth_ok is None else ("ok" if r.auth_ok else "REFUSED")
        latency = f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "-"
        rows.append(
            (r.tenant, r.backend, "yes" if r.reachable else "NO", auth, latency, r.capabilities)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ]
    lines.extend(f"{r.tenant}: {r.error}" for r in results if r.error)
    return "\n".join(line.rstrip() for line in lines)
