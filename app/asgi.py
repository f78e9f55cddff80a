"""The ASGI factory uvicorn imports in each worker of ``scim-gateway serve --workers N``.

``uvicorn app.asgi:app_from_env --factory`` works the same: the config file comes from
``$SCIM_GATEWAY_CONFIG`` (none: the built-in demo tenants, one set of emulators per worker).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from app.config import CONFIG_ENV, load_settings
from app.main import create_app
from app.runtime import tune_gc


def app_from_env() -> FastAPI:
    path = os.environ.get(CONFIG_ENV)
    app = create_app(load_settings(path) if path else None)
    tune_gc()
    return app
