"""GraphiQL served by the gateway itself: no CDN, pinned versions, works with no internet.

Strawberry's default IDE page loads React and GraphiQL from unpkg. This page loads the same
UMD builds from ``/graphiql/static/`` (vendored from the npm registry under ``static/``, listed
in :data:`ASSETS` with their pinned versions and SHA-256 sums) and adds each file's Subresource
Integrity hash. The headers editor is open so an admin can send ``Authorization: Bearer <key>``;
headers are not persisted in the browser's storage.

To upgrade: ``npm pack graphiql@X react@Y react-dom@Y @graphiql/plugin-explorer@Z``, copy the
same files into ``static/``, then update :data:`ASSETS` (``tests/test_graphiql_assets.py`` says
which sums changed).
"""

from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/graphiql/static"


@dataclass(frozen=True, slots=True)
class Asset:
    file: str
    package: str
    version: str
    sha256: str


ASSETS: tuple[Asset, ...] = (
    Asset(
        "react.production.min.js",
        "react",
        "18.2.0",
        "4b4969fa4ef3594324da2c6d78ce8766fbbc2fd121fff395aedf997db0a99a06",
    ),
    Asset(
        "react-dom.production.min.js",
        "react-dom",
        "18.2.0",
        "21758ed084cd0e37e735722ee4f3957ea960628a29dfa6c3ce1a1d47a2d6e4f7",
    ),
    Asset(
        "graphiql.min.css",
        "graphiql",
        "3.8.3",
        "b1868247f8e0502cd869e581f5f3cb55b334862e7f51b1d6cbace11059b9adc2",
    ),
    Asset(
        "graphiql.min.js",
        "graphiql",
        "3.8.3",
        "22faab94067b695e5f7959619fbe686ebcc8955002a0c97d986bcbba4ad4bc2c",
    ),
    Asset(
        "plugin-explorer.css",
        "@graphiql/plugin-explorer",
        "1.0.2",
        "762850cb69873400d0ab1737c6158aee91f5c38195bc4a30ee02a3c5d5af4e01",
    ),
    Asset(
        "plugin-explorer.umd.js",
        "@graphiql/plugin-explorer",
        "1.0.2",
        "083e37e501d3e3920a60e627b82191af056009124dce82a332e8ac74db6ca38b",
    ),
)

EXAMPLE_QUERY = """\
# scim-gateway: set your key in the Headers tab below, e.g.
#   {"Authorization": "Bearer <key>"}
# then run (Ctrl-Enter).
query Tenants {
  tenants {
    id
    name
    backend
  }
}
"""


@cache
def _integrity(file: str) -> str:
    digest = hashlib.sha384((STATIC_DIR / file).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def _url(asset: Asset) -> str:
    # The version in the query string makes a new pin a new URL for every cache.
    return f"{STATIC_URL}/{asset.file}?v={asset.version}"


def _tag(asset: Asset) -> str:
    url, sri = html.escape(_url(asset)), _integrity(asset.file)
    if asset.file.endswith(".css"):
        return f'<link rel="stylesheet" href="{url}" integrity="{sri}" />'
    return f'<script src="{url}" integrity="{sri}"></script>'


_SCRIPT = """
const fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
const explorer = GraphiQLPluginExplorer.explorerPlugin();
function App() {
  return React.createElement(GraphiQL, {
    fetcher,
    plugins: [explorer],
    defaultQuery: EXAMPLE_QUERY,
    defaultHeaders: JSON.stringify({ Authorization: "Bearer <key>" }, null, 2),
    defaultEditorToolsVisibility: "headers",
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  });
}
ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
"""


@cache
def graphiql_page() -> str:
    """The IDE's HTML: every script and style from this gateway, with integrity hashes."""
    styles = "\n    ".join(_tag(a) for a in ASSETS if a.file.endswith(".css"))
    scripts = "\n    ".join(_tag(a) for a in ASSETS if a.file.endswith(".js"))
    example = EXAMPLE_QUERY.replace("\\", "\\\\").replace("`", "\\`").replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>scim-gateway GraphiQL</title>
    <link rel="icon" href="data:," />
    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
    {styles}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL...</div>
    {scripts}
    <script>
const EXAMPLE_QUERY = `{example}`;
{_SCRIPT}
    </script>
  </body>
</html>
"""
