"""Config files: valid ones load, bad ones fail with the file, the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import ConfigError, DescopeTenant, ScimTenant, load_settings, resolve_secret

SCIM_EXAMPLE = """
[[tenants]]
id = "acme"
name = "Acme Corp"
backend = "scim"
base_url = "http://127.0.0.1:18080/v2"
token_env = "ACME_SCIM_TOKEN"

[[clients]]
name = "acme-frontend"
key_env = "ACME_FRONTEND_KEY"
role = "reader"
tenants = ["acme"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def test_the_documented_scim_example_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, SCIM_EXAMPLE))
    [tenant] = settings.tenants
    assert isinstance(tenant, ScimTenant)
    assert (tenant.id, tenant.base_url, tenant.token_env) == (
        "acme",
        "http://127.0.0.1:18080/v2",
        "ACME_SCIM_TOKEN",
    )
    assert settings.clients is not None
    assert settings.clients[0].role == "reader"


def test_descope_and_condeco_tenants_take_their_own_fields(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            """
[[tenants]]
id = "a"
name = "A"
backend = "descope"
project_id = "P2x"
descope_tenant_id = "T2x"
access_key_env = "A_KEY"

[[tenants]]
id = "b"
name = "B"
backend = "condeco"
base_url = "https://scimstage.condeco.cloud"
token_url = "https://scimstagetp.condeco.cloud/api/V1/token"
client_id_env = "B_ID"
client_secret_env = "B_SECRET"
""",
        )
    )
    descope = settings.tenants[0]
    assert isinstance(descope, DescopeTenant)
    assert descope.base_url == "https://api.descope.com"
    assert descope.management_key_env is None
    assert settings.clients is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[tenants]]\nid='A!'\nname='x'\nbackend='scim'\nbase_url='http://x'\n", "tenants[0].id"),
        ("[[tenants]]\nid='a'\nname='x'\nbackend='ldap'\nbase_url='http://x'\n", "tenants[0]"),
        ("[[tenants]]\nid='a'\nname='x'\nbackend='scim'\nbase_url='ftp://x'\n", "base_url"),
        (
            "[[tenants]]\nid='a'\nname='x'\nbackend='scim'\nbase_url='http://x'\ntoken='s'\n",
            "token",
        ),
        ("tenants = []\n", "tenants"),
        (
            "[[tenants]]\nid='a'\nname='x'\nbackend='scim'\nbase_url='http://x'\n"
            "[[tenants]]\nid='a'\nname='y'\nbackend='scim'\nbase_url='http://y'\n",
            "unique",
        ),
        (
            "[[tenants]]\nid='a'\nname='x'\nbackend='scim'\nbase_url='http://x'\n"
            "[[clients]]\nname='c'\nkey_env='K'\ntenants=['b']\n",
            "unknown tenants: b",
        ),
        ("this is = not toml [", "not valid TOML"),
    ],
)
def test_bad_config_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_secret_names_the_variable_not_a_value() -> None:
    with pytest.raises(ConfigError, match=r"tenant 'acme': token_env names .*ACME_TOKEN"):
        resolve_secret("ACME_TOKEN", owner="tenant 'acme'", key="token_env", env={})


def test_serve_refuses_a_bad_config_with_one_clear_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[[tenants]]\nid='a'\nname='x'\nbackend='scim'\nbase_url='nope'\n")
    result = CliRunner().invoke(cli, ["serve", "--config", str(path)])
    assert result.exit_code == 2
    assert "tenants[0].base_url" in result.output


def test_serve_refuses_a_config_whose_secrets_are_not_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_SCIM_TOKEN", raising=False)
    monkeypatch.delenv("ACME_FRONTEND_KEY", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--config", str(write(tmp_path, SCIM_EXAMPLE))])
    assert result.exit_code == 2
    assert "ACME_SCIM_TOKEN" in result.output or "ACME_FRONTEND_KEY" in result.output
