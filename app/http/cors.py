"""CORS from ``[cors]``: an exact-origin allow-list, nothing open by default.

With no ``allow_origins`` no middleware is installed: browsers get no
``Access-Control-Allow-Origin`` and refuse every cross-origin call. Otherwise Starlette's
``CORSMiddleware`` answers preflights for ``GET``/``POST`` with the headers a GraphQL client
sends (``Authorization``, ``Content-Type``, ``X-Request-ID``) and exposes ``X-Request-ID``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware

from app.operator_config import CorsConfig

ALLOW_METHODS = ["GET", "POST"]
ALLOW_HEADERS = ["Authorization", "Content-Type", "X-Request-ID"]


def install_cors(app: Starlette, config: CorsConfig) -> bool:
    """Add the CORS middleware when origins are configured; say whether it was added."""
    if not config.allow_origins:
        return False
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(config.allow_origins),
        allow_credentials=config.allow_credentials,
        allow_methods=ALLOW_METHODS,
        allow_headers=ALLOW_HEADERS,
        expose_headers=["X-Request-ID"],
        max_age=config.max_age_seconds,
    )
    return True
