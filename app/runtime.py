"""Process-wide tuning the serving entry points apply (``serve``, the ASGI factory, bench).

CPython's cyclic garbage collector runs a young collection every 700 container allocations by
default. One page of groups with members parses tens of thousands of JSON objects and builds as
many answer dicts, so a query triggered dozens of collections, some of them full ones walking
every object the process holds: a fifth to a third of the gateway's CPU on large answers
(docs/performance.md). Nearly all of it is acyclic and freed by reference counting anyway.
"""

from __future__ import annotations

import gc
from typing import Final

GEN0_THRESHOLD: Final = 50_000
"""Allocations between young collections: still frequent enough that real cycles are freed
within a request or two, at a small fraction of the cost."""


def tune_gc() -> None:
    """Raise the young-generation threshold (never lower it), and move everything alive at
    start-up (modules, the schema, settings) out of the collector's sight for good."""
    gen0, gen1, gen2 = gc.get_threshold()
    if gen0 != 0:  # 0: collection was disabled on purpose; leave it so
        gc.set_threshold(max(gen0, GEN0_THRESHOLD), gen1, gen2)
    gc.freeze()
