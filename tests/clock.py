"""A monotonic clock a test moves by hand (token expiry, breaker cool-downs) instead of sleeping."""

from __future__ import annotations


class Clock:
    """Called like ``time.monotonic``; set ``now`` to move it. Shared by whatever the test
    hands it to (an emulator and an adapter, a breaker), so they agree on the time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
