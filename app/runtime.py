"""Process-wide tuning the serving entry points apply (``serve``, the ASGI factory, bench).

CPython's cyclic garbage collector runs a young collection every 700 container allocations by
default. One page of groups with members parses tens of thousands of JSON objects and builds as
many answer dicts, so a query triggered dozens of collections, some of them walking every
object the process holds. Nearly all of it is acyclic and freed by reference counting anyway.
Measured on scenario 2's page, the raised threshold saves about a tenth of the gateway's CPU
(22 against 24.5 ms; docs/performance.md).

The price is memory: cyclic garbage (a failed request's traceback, say) waits longer for its
collection, so a process settles some 10 MB higher under a fault-heavy load
(``python -m bench --soak``: 97 against 86 MB). ``SCIM_GATEWAY_GC_GEN0`` sets the threshold;
700 keeps Python's.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from typing import Final

GC_ENV: Final = "SCIM_GATEWAY_GC_GEN0"
GEN0_THRESHOLD: Final = 50_000
"""Allocations between young collections: still frequent enough that real cycles are freed
within a request or two, at a small fraction of the cost."""


def gen0_threshold(env: Mapping[str, str] | None = None) -> int:
    """The young threshold to use: ``$SCIM_GATEWAY_GC_GEN0`` when set, else the default."""
    raw = (os.environ if env is None else env).get(GC_ENV, "").strip()
    if not raw:
        return GEN0_THRESHOLD
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{GC_ENV} must be a positive whole number, got {raw!r}")
    return int(raw)


def tune_gc(env: Mapping[str, str] | None = None) -> None:
    """Raise the young-generation threshold (never lower it), and move everything alive at
    start-up (modules, the schema, settings) out of the collector's sight for good."""
    wanted = gen0_threshold(env)
    gen0, gen1, gen2 = gc.get_threshold()
    if gen0 != 0:  # 0: collection was disabled on purpose; leave it so
        gc.set_threshold(max(gen0, wanted), gen1, gen2)
    gc.freeze()
