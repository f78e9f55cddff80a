"""The committed schema.graphql is exactly what the code serves."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_matches_the_code() -> None:
    result = CliRunner().invoke(cli, ["export-schema"])
    assert result.exit_code == 0
    committed = (ROOT / "schema.graphql").read_text()
    assert result.output == committed, "run: scim-gateway export-schema > schema.graphql"


def test_schema_has_the_contracted_roots() -> None:
    sdl = (ROOT / "schema.graphql").read_text()
    for needle in (
        "node(id: ID!): Node",
        "tenants: [Tenant!]!",
        "tenant(id: ID!): Tenant",
        "createGroup(input: CreateGroupInput!): Group!",
        "deleteGroup(input: DeleteGroupInput!): DeleteGroupPayload!",
        "enum Backend {",
    ):
        assert needle in sdl
