"""``scim-gateway check``: a readable table of every tenant, a failing exit when one is down."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from tests.ops.conftest import free_port

runner = CliRunner()


def test_check_without_config_reaches_every_demo_tenant_and_prints_a_table() -> None:
    result = runner.invoke(cli, ["check"], env={"SCIM_GATEWAY_CONFIG": ""})

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if line.startswith("TENANT"))
    assert header.split() == ["TENANT", "BACKEND", "REACHABLE", "AUTH", "LATENCY", "CAPABILITIES"]
    rows = {line.split()[0]: line.split() for line in lines[lines.index(header) + 1 :]}
    assert set(rows) == {"acme", "globex", "initech"}
    assert rows["initech"][1:4] == ["scim", "yes", "ok"] and rows["initech"][5] == "ms"
    assert "etag" in rows["initech"]  # read from the emulator's ServiceProviderConfig
    assert rows["acme"][1] == "descope" and rows["globex"][1] == "condeco"


def test_check_exits_non_zero_and_names_the_tenant_on_a_closed_port(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        f"""
[[tenants]]
id = "down"
name = "Nobody home"
backend = "scim"
base_url = "http://127.0.0.1:{free_port()}/v2"
timeout_seconds = 2
"""
    )

    result = runner.invoke(cli, ["check", "--config", str(config)])

    assert result.exit_code == 1, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("down "))
    assert row.split()[:5] == ["down", "scim", "NO", "?", "-"]
    assert "down: upstream unreachable" in result.output


def test_check_names_the_file_and_the_key_of_a_bad_config_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[[tenants]]\nid = "x"\nname = "X"\nbackend = "scim"\nbase_url = "ftp://x"\n')

    result = runner.invoke(cli, ["check", "--config", str(config)])

    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert f"{config}: tenants[0].base_url:" in result.output


def test_check_names_the_missing_secret_variable(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[[tenants]]\nid = "x"\nname = "X"\nbackend = "scim"\n'
        'base_url = "http://127.0.0.1:9/v2"\ntoken_env = "NOT_SET_ANYWHERE"\n'
    )

    result = runner.invoke(cli, ["check", "--config", str(config)], env={"NOT_SET_ANYWHERE": ""})

    assert result.exit_code == 2
    assert "tenant 'x': token_env names the environment variable NOT_SET_ANYWHERE" in result.output
