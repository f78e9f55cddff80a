"""The request id: accepted from ``X-Request-ID`` when sane, else made; one per request.

It lives in a context variable for the request's task (and every task it spawns: resolvers,
dataloader batches), so logs carry it and upstream requests send it on.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:@/+=-]{8,128}$")

current_request_id: ContextVar[str | None] = ContextVar("scim_gateway_request_id", default=None)


def accept_or_make(incoming: str | None) -> str:
    """The caller's id if it is 8-128 plain characters (no spaces, quotes or control
    characters, so it is safe in logs and headers); a fresh random one otherwise."""
    if incoming is not None and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex
