"""The GraphQL endpoint, ``/graphql``: Strawberry's ASGI view of the schema (POST and GET
operations, GraphiQL for a browser), with the common request taken straight to the schema.

That common request is a POST of one JSON operation (``Content-Type: application/json``, no
streaming asked for in ``Accept``). For it, the view reads the body with orjson, checks its
shape as Strawberry does, runs the operation and answers with the processed result: what
Strawberry's ``run`` does, less what only other requests need (the content type parsed with
the ``email`` package, the request adapter's protocol checks, the sub-response, the IDE and
streaming checks): ~5% of a ``node(id:)``'s CPU. Whatever else, including a body this path
does not accept, goes to Strawberry's ``run`` with the body already read, so its answers and
its errors stay Strawberry's. A test sends the same requests both ways.

Each request's context is closed once its answer is sent.
"""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException  # Strawberry's own HTTP error (its cross-framework layer)
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app.errors import Unauthenticated
from app.gateway import Gateway
from app.graphiql import graphiql_page
from app.schema.context import Context

CONTEXT: str = "scim_gateway.context"
"""Where the request's :class:`Context` waits in the ASGI scope until the answer is sent."""

_JSON = frozenset({b"application/json", b"application/json; charset=utf-8"})
_STREAMING = (b"multipart", b"event-stream")
_POST_OPERATIONS = OperationType.from_http("POST")


def _plain_post(scope: Scope) -> bool:
    """A POST of JSON whose answer is not asked to stream."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    content_type = accept = b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.lower()
        elif name == b"accept":
            accept = value.lower()
    return content_type in _JSON and not any(kind in accept for kind in _STREAMING)


def _one_operation(data: Any) -> bool:
    """The shape Strawberry accepts for one operation (``operationName`` is left to the
    schema, as Strawberry leaves it)."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("query"), str | None)
        and isinstance(data.get("variables"), dict | None)
        and isinstance(data.get("extensions"), dict | None)
    )


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view of the schema at ``/graphql``; see the module's docstring."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if _plain_post(scope):
                await self._post(scope, receive, send)
            else:
                await super().__call__(scope, receive, send)
        finally:
            context = scope.pop(CONTEXT, None)
            if context is not None:
                context.close()

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            data = None
        try:
            if _one_operation(data):
                response = await self._operation(request, data)
            else:  # Strawberry's own answer (the body stays read on the request)
                response = await self.run(request)
        except HTTPException as exc:
            response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        await response(scope, receive, send)

    async def _operation(self, request: Request, data: dict[str, Any]) -> Response:
        context = self._context(request)
        context.encode_early = True  # encode_json is orjson's
        try:
            result = await self.schema.execute(
                data.get("query"),
                variable_values=data.get("variables"),
                context_value=context,
                root_value=None,
                operation_name=data.get("operationName"),
                allowed_operation_types=_POST_OPERATIONS,
                operation_extensions=data.get("extensions"),
            )
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except InvalidOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason("POST")) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc
        answer = await self.process_result(request, result)
        return Response(self.encode_json(answer), media_type="application/json")

    def parse_json(self, data: str | bytes) -> Any:
        # Strawberry reads any JSON value and then fails with a 500 on one that is neither an
        # object nor a list (a string, a number, null): those are the client's error.
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The GraphQL request must be a JSON object.")
        return parsed

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return self._context(request)

    def _context(self, request: Request | WebSocket) -> Context:
        gateway: Gateway = request.app.state.gateway
        try:
            principal = gateway.authenticator.authenticate(request.headers.get("authorization"))
        except Unauthenticated as exc:
            context = Context(gateway, None, exc)
        else:
            context = Context(gateway, principal, None)
        request.scope[CONTEXT] = context
        return context

    def encode_json(self, data: object) -> bytes:
        # orjson is several times faster than json.dumps on large answers.
        return orjson.dumps(data)

    @property
    def graphql_ide_html(self) -> str:
        # GraphiQL from the gateway's own vendored assets, never a CDN (app/graphiql).
        return graphiql_page()
