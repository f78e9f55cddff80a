"""Structured logs: one JSON object per line, each carrying the request id.

``scim-gateway serve`` installs :func:`logging_config` (``--log-format json``, the default, or
``text``) for the gateway's and uvicorn's loggers. Records never carry headers or secrets: the
access line names method, path (no query string), status and duration only; anything passed in
``extra=`` whose key looks like a credential is replaced by ``"[redacted]"``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from app.observability.requestid import current_request_id

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
_SECRET_WORDS = ("authorization", "token", "secret", "password", "key", "cookie")


class RequestIdFilter(logging.Filter):
    """Put the current request id (or ``None``) on every record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", ...extra}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id.get(),
        }
        for name, value in vars(record).items():
            if name in _STANDARD or name in out or name.startswith("_") or name == "color_message":
                continue
            lowered = name.lower()
            secret = any(word in lowered for word in _SECRET_WORDS)
            out[name] = "[redacted]" if secret else value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def logging_config(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's ``log_config=`` (one per worker)."""
    formatter: dict[str, Any] = (
        {"()": "app.observability.logging.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    loggers = ("scim_gateway", "uvicorn", "uvicorn.error", "uvicorn.access")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "app.observability.logging.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            name: {"handlers": ["default"], "level": level, "propagate": False} for name in loggers
        },
    }
