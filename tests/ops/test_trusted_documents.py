"""Trusted documents: run by hash from a manifest; restricted clients may run nothing else."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import ClientConfig, ConfigError, Settings
from app.demo import demo_settings
from app.operator_config import TrustedDocumentsConfig
from app.trusted_documents import Manifest
from tests.ops.conftest import InProcess, in_process

TRUSTED = "query Tenants { tenants { id name } }"
DIGEST = hashlib.sha256(TRUSTED.encode()).hexdigest()
OTHER = "query Mine { tenants { id backend } }"
KEYS = {"KIOSK_KEY": "kiosk-key-0001", "TOOL_KEY": "tool-key-0002", "ADMIN_KEY": "admin-key-0003"}
CLIENTS = [
    ClientConfig(name="kiosk", key_env="KIOSK_KEY", tenants=["*"], trusted_documents_only=True),
    ClientConfig(name="tool", key_env="TOOL_KEY", tenants=["*"]),
    ClientConfig(name="ops", key_env="ADMIN_KEY", tenants=["*"], role="admin"),
]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "trusted.json"
    path.write_text(json.dumps({f"sha256:{DIGEST}": TRUSTED}))
    return path


@pytest.fixture
async def gw(manifest: Path) -> AsyncIterator[InProcess]:
    docs = TrustedDocumentsConfig(manifest=str(manifest))
    async with in_process(clients=CLIENTS, extra_env=KEYS, trusted_documents=docs) as client:
        yield client


def _code(answer: dict[str, object]) -> str:
    errors = answer["errors"]
    assert isinstance(errors, list) and len(errors) == 1
    code: str = errors[0]["extensions"]["code"]
    return code


async def test_a_restricted_client_runs_a_trusted_document_by_its_hash(gw: InProcess) -> None:
    by_id = await gw.graphql({"documentId": f"sha256:{DIGEST}"}, KEYS["KIOSK_KEY"])
    apq = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": DIGEST}}}
    by_apq = await gw.graphql(apq, KEYS["KIOSK_KEY"])
    by_text = await gw.graphql({"query": TRUSTED}, KEYS["KIOSK_KEY"])

    names = [t["name"] for t in by_id["data"]["tenants"]]
    assert names == ["Acme Corp", "Globex", "Initech"]
    assert by_apq == by_id == by_text


async def test_a_restricted_client_is_forbidden_any_other_document(gw: InProcess) -> None:
    answer = await gw.graphql({"query": OTHER}, KEYS["KIOSK_KEY"])
    auth = {"Authorization": f"Bearer {KEYS['KIOSK_KEY']}"}
    via_get = await gw.http.get("/graphql", params={"query": OTHER}, headers=auth)

    assert _code(answer) == "FORBIDDEN" and answer["data"] is None
    assert "may only run trusted documents" in answer["errors"][0]["message"]
    assert _code(via_get.json()) == "FORBIDDEN"


async def test_an_unknown_or_malformed_hash_is_bad_user_input(gw: InProcess) -> None:
    unknown = await gw.graphql({"documentId": "sha256:" + "0" * 64}, KEYS["KIOSK_KEY"])
    malformed = await gw.graphql({"documentId": "md5:abc"}, KEYS["TOOL_KEY"])

    assert _code(unknown) == "BAD_USER_INPUT"
    assert unknown["errors"][0]["message"] == f"unknown trusted document sha256:{'0' * 64}"
    assert _code(malformed) == "BAD_USER_INPUT"


async def test_unrestricted_readers_and_admins_keep_arbitrary_queries(gw: InProcess) -> None:
    for key in (KEYS["TOOL_KEY"], KEYS["ADMIN_KEY"]):
        answer = await gw.graphql({"query": OTHER}, key)
        assert "errors" not in answer and len(answer["data"]["tenants"]) == 3


async def test_a_wrong_key_still_gets_unauthenticated_not_forbidden(gw: InProcess) -> None:
    answer = await gw.graphql({"query": OTHER}, "not-a-key")

    assert _code(answer) == "UNAUTHENTICATED"


def test_a_manifest_entry_whose_hash_is_not_its_document_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({f"sha256:{DIGEST}": OTHER}))

    with pytest.raises(ConfigError, match=r"bad.json: entry 'sha256:.*': the hash is not its"):
        Manifest.load(path)
    with pytest.raises(ConfigError, match="no such file"):
        Manifest.load(tmp_path / "missing.json")


def test_config_refuses_the_switch_on_admins_or_without_a_manifest() -> None:
    base, _ = demo_settings()
    admin = ClientConfig(
        name="ops", key_env="K", tenants=["*"], role="admin", trusted_documents_only=True
    )
    reader = ClientConfig(name="kiosk", key_env="K", tenants=["*"], trusted_documents_only=True)

    with pytest.raises(ValidationError, match="admin keys always keep arbitrary queries"):
        Settings(
            tenants=base.tenants,
            clients=[admin],
            trusted_documents=TrustedDocumentsConfig(manifest="m.json"),
        )
    with pytest.raises(ValidationError, match="needs a \\[trusted_documents\\] manifest"):
        Settings(tenants=base.tenants, clients=[reader])
