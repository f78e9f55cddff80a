"""Trusted documents: operations known ahead of time, run by their SHA-256 hash.

The ``[trusted_documents]`` manifest is a JSON object of ``"sha256:<hex>": "<document>"``
(bare ``<hex>`` keys are accepted; every hash is checked against its document on load). A
``POST /graphql`` may then send a hash instead of a document, in either common form::

    {"documentId": "sha256:<hex>", "variables": {...}}
    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}, ...}

A client with ``trusted_documents_only = true`` may run nothing else: a document of its own is
accepted only when its hash is in the manifest. The errors, as GraphQL errors (HTTP 200):

* ``BAD_USER_INPUT``: the hash is not in the manifest, malformed, or the gateway has none.
* ``FORBIDDEN``: a trusted-documents-only client sent a document that is not in the manifest.

Admin keys (and readers without the switch) keep arbitrary queries.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import ConfigError, Settings
from app.errors import GatewayError

_HASH = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


class Manifest:
    """The allowed documents, by SHA-256 hex digest."""

    def __init__(self, documents: Mapping[str, str]) -> None:
        self._by_hash = dict(documents)

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, digest: str) -> str | None:
        return self._by_hash.get(digest)

    def allows(self, document: str) -> bool:
        return document_hash(document) in self._by_hash

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        """Read and verify a manifest; :class:`ConfigError` names the file and the entry."""
        where = f"trusted_documents.manifest {path}"
        try:
            data = orjson.loads(Path(path).read_bytes())
        except FileNotFoundError as exc:
            raise ConfigError(f"{where}: no such file") from exc
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigError(f"{where}: not a readable JSON file: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: must be a JSON object of hash -> document")
        documents: dict[str, str] = {}
        for key, document in data.items():
            found = _HASH.fullmatch(key)
            if found is None or not isinstance(document, str):
                raise ConfigError(f"{where}: entry {key!r} is not 'sha256:<hex>': '<document>'")
            if document_hash(document) != found.group(1):
                raise ConfigError(f"{where}: entry {key!r}: the hash is not its document's")
            documents[found.group(1)] = document
        return cls(documents)


def _error(error: GatewayError) -> bytes:
    return orjson.dumps(
        {"data": None, "errors": [{"message": error.message, "extensions": error.extensions}]}
    )


class _BadInput(GatewayError):
    code = "BAD_USER_INPUT"


class _Refused(GatewayError):
    code = "FORBIDDEN"


class TrustedDocumentsMiddleware:
    """Resolve hashes to documents, and hold trusted-documents-only clients to the manifest."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        manifest: Manifest | None,
        restricted_clients: frozenset[str],
        path: str = "/graphql",
    ) -> None:
        self.app = app
        self.manifest = manifest
        self.restricted = restricted_clients
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "GET":
            params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            document = (params.get("query") or [None])[0]
            refused = self._refuse(scope, document) if document else None
            if refused is not None:
                await self._answer(send, refused)
                return
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if method != "POST" or not headers.get("content-type", "").startswith("application/json"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        new_body, refused = self._rewrite(scope, body)
        if refused is not None:
            await self._answer(send, refused)
            return
        await self.app(_with_length(scope, len(new_body)), _replay(new_body, receive), send)

    def _rewrite(self, scope: Scope, body: bytes) -> tuple[bytes, GatewayError | None]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body, None  # Strawberry answers malformed bodies itself
        if not isinstance(data, dict):
            return body, None
        wanted = _requested_hash(data)
        if wanted is None:
            query = data.get("query")
            refused = self._refuse(scope, query) if isinstance(query, str) else None
            return body, refused
        found = _HASH.fullmatch(wanted.lower()) if isinstance(wanted, str) else None
        if found is None:
            return body, _BadInput("documentId must be 'sha256:' and 64 hex digits")
        if self.manifest is None:
            return body, _BadInput("this gateway has no trusted documents: send the query")
        document = self.manifest.get(found.group(1))
        if document is None:
            return body, _BadInput(f"unknown trusted document sha256:{found.group(1)}")
        data.pop("documentId", None)
        data["query"] = document
        return orjson.dumps(data), None

    def _refuse(self, scope: Scope, document: str) -> GatewayError | None:
        if not self.restricted:
            return None
        name = _client_name(scope)
        if name is None or name not in self.restricted:
            return None
        if self.manifest is not None and self.manifest.allows(document):
            return None
        return _Refused(
            f"client {name!r} may only run trusted documents: send a documentId from the manifest"
        )

    async def _answer(self, send: Send, error: GatewayError) -> None:
        body = _error(error)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _requested_hash(data: Mapping[str, Any]) -> Any:
    if "documentId" in data:
        return data["documentId"]
    extensions = data.get("extensions")
    if isinstance(extensions, Mapping):
        persisted = extensions.get("persistedQuery")
        if isinstance(persisted, Mapping) and "sha256Hash" in persisted:
            return persisted["sha256Hash"]
    return None


def _client_name(scope: Scope) -> str | None:
    """The configured client this request authenticates as (``None`` if it does not)."""
    app = scope.get("app")
    gateway = getattr(getattr(app, "state", None), "gateway", None)
    if gateway is None:
        return None
    try:
        principal = gateway.authenticator.authenticate(Headers(scope=scope).get("authorization"))
    except GatewayError:
        return None  # the GraphQL layer refuses it with UNAUTHENTICATED
    name: str = principal.name
    return name


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """The (rewritten) body once, then the connection's own messages (its disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


def _with_length(scope: Scope, length: int) -> Scope:
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
    headers.append((b"content-length", str(length).encode()))
    return {**scope, "headers": headers}


def restricted_clients(settings: Settings | None) -> frozenset[str]:
    if settings is None:
        return frozenset()
    return frozenset(c.name for c in settings.clients or [] if c.trusted_documents_only)
