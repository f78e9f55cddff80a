"""Which upstream requests may be sent again, and how long to wait before doing so.

Only idempotent reads are retried after they may have reached the server: ``GET``, and the
``POST`` reads callers mark as such (``/.search``, Descope management reads, token requests).
A create, replace, patch or delete is sent again only when the connection failed before the
request left (connect errors and pool timeouts), so it is never applied twice.

Waits are "full jitter" exponential backoff (a random share of ``base * 2**n``, at most
:data:`MAX_BACKOFF`); a ``Retry-After`` on a 429 or 503 (RFC 9110 §10.2.3) is honoured when it
is at most ``retry_after_max`` seconds, and when it asks for longer the error is returned now.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""Answers worth asking again for (a read only): rate limits and gateways' transient errors."""
HONOURS_RETRY_AFTER = frozenset({429, 503})
MAX_BACKOFF = 2.0

NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before any byte of the request reached the server."""


def is_idempotent(method: str) -> bool:
    return method.upper() in IDEMPOTENT_METHODS


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` more attempts after the first; the default retries nothing."""

    retries: int = 0
    backoff: float = 0.1
    retry_after_max: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def may_retry(self, attempt: int) -> bool:
        """Whether another attempt may follow attempt number ``attempt`` (1-based)."""
        return attempt <= self.retries

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; ``None`` when the server asked for
        a longer wait than ``retry_after_max`` (then waiting is pointless: fail now)."""
        if retry_after is not None:
            return retry_after if retry_after <= self.retry_after_max else None
        ceiling = min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1))
        return self.rng.uniform(0, ceiling)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds: delta-seconds or an HTTP-date; ``None`` if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
