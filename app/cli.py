"""The ``scim-gateway`` command: ``serve``, ``check`` and ``export-schema``."""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from app.config import CONFIG_ENV, ConfigError, Settings, load_settings


class LogFormat(enum.StrEnum):
    json = "json"
    text = "text"


cli = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def _config_path(option: Path | None) -> Path | None:
    """``--config``, else ``$SCIM_GATEWAY_CONFIG``, else none (the demo)."""
    return option or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)


def _load_checked(path: Path | None) -> Settings | None:
    """The settings with every secret present, or exit 2 with the config error on one line."""
    from app.gateway import check_secrets

    try:
        settings = load_settings(path) if path else None
        if settings is not None:
            check_secrets(settings, os.environ)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    return settings


@cli.command()
def serve(
    config: Annotated[
        Path | None,
        typer.Option(help=f"TOML config file (default: ${CONFIG_ENV}; none: the built-in demo)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (each opens its own tenant pools).")
    ] = 1,
    log_format: Annotated[
        LogFormat, typer.Option(help="json: one JSON object per line; text: for a terminal.")
    ] = LogFormat.json,
) -> None:
    """Serve the gateway; GraphiQL at /graphql."""
    import uvicorn

    from app.main import create_app
    from app.observability.logging import logging_config
    from app.runtime import gen0_threshold, tune_gc

    path = _config_path(config)
    settings = _load_checked(path)
    try:
        gen0_threshold()  # a bad $SCIM_GATEWAY_GC_GEN0 fails here, once, not in each worker
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        # Builds the app, which also reads the trusted-documents manifest: fail here, once,
        # rather than in every worker (the demo has nothing to check).
        app = create_app(settings) if workers == 1 or settings is not None else None
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if settings is None:
        typer.echo("no config given: serving the built-in demo tenants (acme, globex, initech)")
    typer.echo(f"GraphiQL: http://{host}:{port}/graphql")
    logs = logging_config(log_format.value)
    if app is not None and workers == 1:
        tune_gc()
        uvicorn.run(app, host=host, port=port, log_config=logs, access_log=False)
        return
    # Each worker imports the app itself: hand it the config file through the environment.
    if path is not None:
        os.environ[CONFIG_ENV] = str(path.resolve())
    else:
        os.environ.pop(CONFIG_ENV, None)
    uvicorn.run(
        "app.asgi:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_config=logs,
        access_log=False,
    )


@cli.command()
def check(
    config: Annotated[
        Path | None,
        typer.Option(help=f"TOML config file (default: ${CONFIG_ENV}; none: the built-in demo)."),
    ] = None,
) -> None:
    """Reach every tenant: reachable, credentials accepted, latency, capabilities."""
    import asyncio

    from app.check import check_gateway, render
    from app.demo import demo_gateway
    from app.gateway import open_gateway
    from app.trusted_documents import Manifest

    settings = _load_checked(_config_path(config))
    try:
        if settings is not None and settings.trusted_documents is not None:
            Manifest.load(settings.trusted_documents.manifest)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc

    async def run() -> list[Any]:
        opened = demo_gateway() if settings is None else open_gateway(settings)
        async with opened as gateway:
            return await check_gateway(gateway)

    if settings is None:
        typer.echo("no config given: checking the built-in demo tenants")
    results = asyncio.run(run())
    typer.echo(render(results))
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@cli.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from app.schema import schema

    sys.stdout.write(schema.as_str() + "\n")


def main() -> None:
    cli()
