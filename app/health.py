"""Readiness: what ``/readyz`` checks, and each tenant's circuit-breaker state.

``/healthz`` says the process answers; ``/readyz`` says this instance should get traffic: the
config is loaded, the gateway (every tenant's pooled client) is open, and no tenant's circuit
breaker is open. Breakers (``app.resilience.breaker``) are read through :func:`find_breaker`,
duck-typed so this module depends on no adapter internals; a gateway without breakers reports
none, and readiness then rests on the gateway being open.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


def _state_name(state: object) -> str:
    value = state.value if isinstance(state, Enum) else state
    return str(value).lower().replace("-", "_").replace(" ", "_")


def _effective_state(breaker: Any) -> str:
    """The breaker's state, reading an open breaker whose cool-down is over as ``half_open``:
    it only moves there on its next request, and an instance out of rotation gets none, so
    without this ``/readyz`` would keep it out for good."""
    state = _state_name(breaker.state)
    opened_at = getattr(breaker, "_opened_at", None)
    cooldown = getattr(breaker, "cooldown", None)
    clock = getattr(breaker, "_clock", None)
    cooled = (
        isinstance(opened_at, float)
        and isinstance(cooldown, int | float)
        and callable(clock)
        and clock() >= opened_at + cooldown
    )
    return "half_open" if state == "open" and cooled else state


def find_breaker(tenant: Any) -> Any | None:
    """The tenant's circuit breaker (``app.resilience``), wherever the gateway keeps it: on the
    tenant, its adapter, or the resilience of the adapter's send step."""
    backend = getattr(tenant, "backend", None)
    owners = (
        tenant,
        backend,
        getattr(backend, "resilience", None),
        getattr(getattr(backend, "_upstream", None), "resilience", None),
    )
    for owner in owners:
        breaker = getattr(owner, "breaker", None)
        if breaker is not None and hasattr(breaker, "state"):
            return breaker
    return None


def breaker_states(gateway: Any) -> dict[str, str]:
    """``{tenant: "closed" | "half_open" | "open"}`` for every tenant that has a breaker."""
    states: dict[str, str] = {}
    for tenant_id, tenant in getattr(gateway, "tenants", {}).items():
        breaker = find_breaker(tenant)
        if breaker is not None:
            states[tenant_id] = _effective_state(breaker)
    return states


def readiness(gateway: Any) -> tuple[bool, dict[str, Any]]:
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
