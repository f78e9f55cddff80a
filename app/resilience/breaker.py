"""A circuit breaker per tenant: stop calling a directory that keeps failing.

Closed: every request goes through; ``failures`` consecutive failed attempts (a transport
error, a timeout or a 5xx answer) open it. Open: requests fail at once with
UPSTREAM_UNAVAILABLE, no upstream call, for ``cooldown`` seconds. Then half-open: ONE probe
goes through while the others still fail fast; its success closes the breaker, its failure
(or its cancellation) opens it for another cool-down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum

from app.errors import UpstreamUnavailable


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(
        self,
        tenant_id: str,
        *,
        failures: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tenant_id = tenant_id
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self.state = State.CLOSED
        self.consecutive = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def current_state(self) -> State:
        """The state as the next request would find it: open past its cool-down reads
        half-open (for readiness checks and metrics; changes nothing)."""
        if self.state is State.OPEN and self._clock() >= self._opened_at + self.cooldown:
            return State.HALF_OPEN
        return self.state

    def before(self) -> bool:
        """Admit one attempt, or raise UPSTREAM_UNAVAILABLE; ``True`` when it is the probe."""
        if self.state is State.CLOSED:
            return False
        if self.state is State.OPEN and self._clock() >= self._opened_at + self.cooldown:
            self.state = State.HALF_OPEN
            self._probing = False
        if self.state is State.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        wait = max(0.0, self._opened_at + self.cooldown - self._clock())
        raise UpstreamUnavailable(
            f"tenant {self.tenant_id!r} is failing: not calling it for another {wait:.1f} s "
            f"after {self.consecutive} consecutive failures",
            tenant=self.tenant_id,
        )

    def succeeded(self) -> None:
        self.state = State.CLOSED
        self.consecutive = 0
        self._probing = False

    def failed(self) -> None:
        self.consecutive += 1
        if self.state is State.HALF_OPEN or self.consecutive >= self.failures:
            self.state = State.OPEN
            self._opened_at = self._clock()
            self._probing = False

    def abandoned(self, probe: bool) -> None:
        """An attempt ended without an answer (cancelled): a probe counts as a failure."""
        if probe:
            self.failed()
