"""The ``scim-gateway`` command: ``serve`` and ``export-schema``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.config import CONFIG_ENV, ConfigError, load_settings

cli = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@cli.command()
def serve(
    config: Annotated[
        Path | None,
        typer.Option(help=f"TOML config file (default: ${CONFIG_ENV}; none: the built-in demo)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the gateway; GraphiQL at /graphql."""
    import uvicorn

    from app.gateway import check_secrets
    from app.main import create_app

    path = config or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    try:
        settings = load_settings(path) if path else None
        if settings is not None:
            check_secrets(settings, os.environ)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if settings is None:
        typer.echo("no config given: serving the built-in demo tenants (acme, globex, initech)")
    typer.echo(f"GraphiQL: http://{host}:{port}/graphql")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@cli.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from app.schema import schema

    sys.stdout.write(schema.as_str() + "\n")


def main() -> None:
    cli()
