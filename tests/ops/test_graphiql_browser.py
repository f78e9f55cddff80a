"""GraphiQL in a real browser (Debian's chromium via Playwright), with no request leaving
the gateway's origin: every script and style is the gateway's own."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.ops.conftest import LiveGateway

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUERY = "query Tenants { tenants { id name backend } }"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)


def _replace_editor_text(page: object, selector: str, text: str) -> None:
    editor = page.locator(f"{selector} .CodeMirror >> visible=true").first  # type: ignore[attr-defined]
    editor.click()
    page.keyboard.press("Control+A")  # type: ignore[attr-defined]
    page.keyboard.press("Delete")  # type: ignore[attr-defined]
    # insert_text types without key events, so the editor's bracket auto-closing stays out.
    page.keyboard.insert_text(text)  # type: ignore[attr-defined]


def test_graphiql_runs_a_query_with_every_asset_from_the_gateway(
    live_gateway: LiveGateway, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    origin = urlsplit(live_gateway.url).netloc
    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{live_gateway.url}/graphql", wait_until="networkidle")
            page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=10_000)

            page.get_by_role("button", name="Headers").click()
            headers = json.dumps({"Authorization": f"Bearer {live_gateway.admin_key}"})
            _replace_editor_text(page, ".graphiql-editor-tool", headers)
            _replace_editor_text(page, ".graphiql-query-editor", QUERY)
            page.click(".graphiql-execute-button")
            response = page.locator(".graphiql-response .CodeMirror")
            response.get_by_text('"Acme Corp"').wait_for(timeout=10_000)
            answer = response.inner_text()
            page.screenshot(path=tmp_path / "graphiql.png")
        finally:
            browser.close()

    assert '"Globex"' in answer and '"Initech"' in answer and "errors" not in answer
    foreign = [u for u in requested if urlsplit(u).scheme not in ("data", "blob")]
    foreign = [u for u in foreign if urlsplit(u).netloc != origin]
    assert foreign == [], f"requests left the gateway's origin: {foreign}"
    assert any("/graphiql/static/graphiql.min.js" in u for u in requested)
    assert (tmp_path / "graphiql.png").stat().st_size > 10_000
    if shot := os.environ.get("GRAPHIQL_SCREENSHOT"):
        shutil.copy(tmp_path / "graphiql.png", shot)
