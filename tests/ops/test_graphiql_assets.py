"""The GraphiQL page and its vendored assets: pinned, intact, served by the gateway."""

from __future__ import annotations

import hashlib
import re

from app.graphiql import ASSETS, STATIC_DIR, graphiql_page
from tests.ops.conftest import in_process


def test_every_vendored_asset_matches_its_pinned_sha256() -> None:
    for asset in ASSETS:
        digest = hashlib.sha256((STATIC_DIR / asset.file).read_bytes()).hexdigest()
        assert digest == asset.sha256, f"{asset.file} ({asset.package}@{asset.version}) changed"


def test_the_page_loads_nothing_from_another_origin() -> None:
    page = graphiql_page()

    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/graphiql/static/") or s == "data:," for s in sources)
    assert "unpkg" not in page and "jsdelivr" not in page and "isHeadersEditorEnabled" in page
    assert page.count('integrity="sha384-') == len(ASSETS)


async def test_get_graphql_serves_the_page_and_the_assets_behind_it() -> None:
    async with in_process() as gw:
        page = await gw.http.get("/graphql", headers={"Accept": "text/html"})
        script = await gw.http.get("/graphiql/static/graphiql.min.js?v=3.8.3")

    assert page.status_code == 200 and "/graphiql/static/graphiql.min.js?v=3.8.3" in page.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert hashlib.sha256(script.content).hexdigest() == ASSETS[3].sha256
