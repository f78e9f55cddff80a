"""Readiness: what ``/readyz`` checks, and each tenant's circuit-breaker state.

``/healthz`` says the process answers; ``/readyz`` says this instance should get traffic: the
config is loaded, the gateway (every tenant's pooled client) is open, and no tenant's circuit
breaker is open.
"""

from __future__ import annotations

from typing import Any

from app.gateway import Gateway


def breaker_states(gateway: Gateway) -> dict[str, str]:
    """``{tenant: "closed" | "half_open" | "open"}``. An open breaker whose cool-down is over
    reads ``half_open``: it only moves there on its next request, and an instance out of
    rotation gets none, so otherwise ``/readyz`` would keep it out for good."""
    return {
        tenant_id: tenant.breaker.current_state.value.replace("-", "_")
        for tenant_id, tenant in gateway.tenants.items()
    }


def readiness(gateway: Gateway | None) -> tuple[bool, dict[str, Any]]:
    """``(ready, body)`` for ``/readyz``."""
    if gateway is None:
        return False, {"status": "not ready", "reasons": ["the gateway is not open"]}
    states = breaker_states(gateway)
    open_ = sorted(t for t, s in states.items() if s == "open")
    body: dict[str, Any] = {
        "status": "not ready" if open_ else "ready",
        "tenants": len(gateway.tenants),
        "breakers": states,
    }
    if open_:
        body["reasons"] = [f"circuit breaker open for tenant {t!r}" for t in open_]
    return not open_, body
