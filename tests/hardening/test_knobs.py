"""The hardening knobs load from TOML with their documented defaults, and reach the wiring."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, Limits, load_settings
from app.gateway import resilience

TENANT = """
[[tenants]]
id = "acme"
name = "Acme"
backend = "scim"
base_url = "http://127.0.0.1:1/v2"
"""


def test_the_knobs_have_safe_defaults(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(TENANT)
    settings = load_settings(tmp_path / "g.toml")
    tenant = settings.tenants[0]
    assert (tenant.timeout_seconds, tenant.connect_timeout_seconds) == (10.0, 3.0)
    assert (tenant.retries, tenant.breaker_failures, tenant.max_concurrent_requests) == (2, 5, 20)
    assert settings.limits == Limits()
    assert settings.limits.request_deadline_seconds == 30.0
    assert settings.limits.introspection is True


def test_every_knob_can_be_set_in_toml(tmp_path: Path) -> None:
    text = (
        TENANT
        + """connect_timeout_seconds = 1.5
retries = 0
retry_backoff_seconds = 0.5
retry_after_max_seconds = 2
breaker_failures = 9
breaker_cooldown_seconds = 4
max_concurrent_requests = 3

[limits]
request_deadline_seconds = 5
max_upstream_requests = 50
max_depth = 6
max_aliases = 4
max_tokens = 800
max_cost = 1000
introspection = false
"""
    )
    (tmp_path / "g.toml").write_text(text)
    settings = load_settings(tmp_path / "g.toml")
    guard = resilience(settings.tenants[0])
    assert guard.retry.retries == 0
    assert guard.retry.backoff == 0.5
    assert guard.retry.retry_after_max == 2
    assert guard.breaker is not None
    assert (guard.breaker.failures, guard.breaker.cooldown) == (9, 4)
    assert guard.concurrency is not None
    assert settings.limits == Limits(
        request_deadline_seconds=5,
        max_upstream_requests=50,
        max_depth=6,
        max_aliases=4,
        max_tokens=800,
        max_cost=1000,
        introspection=False,
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("retries = -1", "tenants[0].retries"),
        ("breaker_cooldown_seconds = 0", "tenants[0].breaker_cooldown_seconds"),
        ("retry_count = 3", "tenants[0].retry_count"),
        ("\n[limits]\nrequest_deadline_seconds = 0", "limits.request_deadline_seconds"),
        ("\n[limits]\nmax_dept = 3", "limits.max_dept"),
    ],
)
def test_a_bad_knob_is_refused_naming_it(tmp_path: Path, extra: str, message: str) -> None:
    (tmp_path / "g.toml").write_text(TENANT + extra + "\n")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(tmp_path / "g.toml")
