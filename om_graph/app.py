"""The ASGI application: GraphQL over HTTP and graphql-transport-ws, plus a health check.

Every GraphQL request is authenticated before strawberry sees it: a bearer token (an om-graph API
token or a JWT from the configured identity provider) in the ``Authorization`` header, or, on a
websocket, in the ``connection_init`` payload. Unauthenticated HTTP requests get 401; an
unauthenticated websocket is closed with 4403 before any data flows.

HTTP follows the GraphQL over HTTP spec: ``application/json`` request bodies only (415 otherwise),
responses as ``application/graphql-response+json`` (request errors 400) or ``application/json``
(always 200 once the request is well-formed) by the Accept header, 406 when neither is acceptable.
The request body is limited while it streams in (``transport.body_limit``), on every route.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from datetime import timedelta

from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from om_graph.core.access.auth import AuthenticationFailed
from om_graph.core.access.error_codes import AccessErrorCode
from om_graph.core.kernel.db import sqlite_writer_stats
from om_graph.observability.endpoints import install_observability
from om_graph.observability.graphql import (
    CACHED_ORDER_READ,
    SCOPE_KEY,
    observe_operations,
)
from om_graph.runtime import Runtime
from om_graph.schema import build_schema
from om_graph.schema.context import Context
from om_graph.schema.limits import (
    MAX_BODY_BYTES,
    MAX_SUBSCRIPTIONS_PER_CONNECTION,
)
from om_graph.schema.response_cache import Entry, ResponseCache
from om_graph.settings import Settings
from om_graph.tmf.routes import tmf_routes
from om_graph.transport import graphiql
from om_graph.transport.body_limit import BodyLimit
from om_graph.transport.errors import error_response
from om_graph.transport.media_types import (
    GRAPHQL_RESPONSE,
    JSON,
    request_body_problem,
    response_media_type,
)
from om_graph.transport.request_body import (
    BadRequest,
    GraphQLParams,
    decode_json,
    graphql_params,
)
from om_graph.transport.websocket import TransportWSHandler, WebSocketAdapter
from om_graph.web.routes import web_routes

log = logging.getLogger(__name__)
WS_AUTH_TIMEOUT = timedelta(seconds=5)
WS_RECHECK_MIN_SECONDS = 0.2
WS_WATCH_KEY = "om_graph.credential_watch"
# Set on an HTTP request's scope by AuthenticatedGraphQL, read by OmGraphQL.
PARAMS_KEY = "om_graph.graphql_params"
MEDIA_TYPE_KEY = "om_graph.response_media_type"


def _unauthorized(message: str) -> JSONResponse:
    return error_response(401, message, headers={"WWW-Authenticate": 'Bearer realm="om-graph"'})


class _RequestAdapter(StarletteRequestAdapter):
    """Strawberry's view of a request, plus its ASGI scope (where the parameters already read are)."""

    def __init__(self, request: Request):
        super().__init__(request)
        self.scope = request.scope


class OmGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = WebSocketAdapter
    graphql_transport_ws_handler_class = TransportWSHandler
    request_adapter_class = _RequestAdapter

    def __init__(self, runtime: Runtime):
        settings = runtime.settings
        super().__init__(
            build_schema(),
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=WS_AUTH_TIMEOUT,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=not settings.production,
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        )
        self.runtime = runtime

    # -- HTTP: the GraphQL over HTTP spec's parameters, media types and status codes

    def decode_json(self, data: str | bytes) -> object:
        # Strawberry turns a JSONDecodeError into 400 (HTTP) or 4400 (websocket); every other way
        # decoding fails (deep nesting, bad UTF-8) must end the same way, not as a 500.
        try:
            return decode_json(data)
        except BadRequest as exc:
            raise json.JSONDecodeError(exc.message, "", 0) from None

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        assert isinstance(request, _RequestAdapter)  # request_adapter_class
        params = request.scope.get(PARAMS_KEY)
        if params is None:  # a GET (POST bodies are read by AuthenticatedGraphQL)
            if request.method == "GET":
                data = self.parse_query_params(request.query_params)
            else:
                problem = request_body_problem(request.content_type)
                if problem:
                    raise HTTPException(415, problem)
                data = self.parse_json(await request.get_body())
            try:
                params = graphql_params(data)
            except BadRequest as exc:
                raise HTTPException(400, exc.message) from None
        return GraphQLRequestData(
            query=params.query,
            variables=params.variables,
            operation_name=params.operation_name,
            extensions=params.extensions,
            protocol="http",
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = request.scope.get(MEDIA_TYPE_KEY) or JSON
        return sub_response

    async def process_result(self, request: Request, result):
        response = await super().process_result(request, result)
        # A request error (the document did not parse or validate, or its variables did not
        # coerce) is a response without ``data``; application/json keeps the legacy ``data: null``.
        is_request_error = result.data is None and result.errors and all(e.path is None for e in result.errors)
        if is_request_error and request.scope.get(MEDIA_TYPE_KEY) == GRAPHQL_RESPONSE:
            del response["data"]
        return response

    def create_response(self, response_data, sub_response: Response) -> Response:
        media_type = sub_response.media_type
        status = 400 if media_type == GRAPHQL_RESPONSE and "data" not in response_data else 200
        response = Response(
            self.encode_json(response_data), status_code=sub_response.status_code or status, media_type=media_type
        )
        response.headers.raw.extend(h for h in sub_response.headers.raw if h[0] != b"content-type")
        response.background = sub_response.background
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql.page(request.scope.get("root_path", "")))

    async def get_context(self, request, response) -> Context:
        actor = getattr(request.state, "actor", None) if hasattr(request, "state") else None
        return Context(
            services=self.runtime.services,
            bus=self.runtime.bus,
            actor=actor,
            allow_introspection=self.runtime.settings.introspection_enabled,
            request=request,
            response=response,
        )

    async def on_ws_connect(self, context: Context):
        params = context.connection_params
        credential = None
        if isinstance(params, dict):
            credential = params.get("Authorization") or params.get("authorization") or params.get("token")
        if not isinstance(credential, str):
            credential = None  # any other JSON value is no credential: refused like a missing one
        try:
            actor = await run_in_threadpool(self.runtime.authenticator.authenticate, credential)
        except AuthenticationFailed:
            raise ConnectionRejectionError({"code": AccessErrorCode.UNAUTHENTICATED}) from None
        context.actor = actor
        websocket: WebSocket = context.request
        # Kept in the connection's scope, where __call__ cancels it when the connection ends.
        websocket.scope[WS_WATCH_KEY] = asyncio.create_task(self._watch_credential(websocket, credential))

    async def __call__(self, scope, receive, send) -> None:
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send)
            else:
                await super().__call__(scope, receive, send)
        finally:
            watch = scope.get(WS_WATCH_KEY)
            if watch is not None:
                watch.cancel()

    async def _http(self, scope, receive, send) -> None:
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as exc:  # strawberry's answer is plain text; keep the GraphQL shape
            response = error_response(exc.status_code, exc.reason, scope.get(MEDIA_TYPE_KEY) or JSON)
        await response(scope, receive, send)

    async def _watch_credential(self, websocket: WebSocket, credential: str | None) -> None:
        """A websocket is authenticated once, at connection_init, but may stay open for days: its
        credential is checked again every token-cache period (with jitter, so sockets opened
        together do not check together), and the socket is closed with 4403 once the token is
        revoked or the JWT has expired. A check that fails for another reason (the database is
        down) is logged and retried at the next period; it does not end the watch."""
        interval = max(self.runtime.settings.token_cache_seconds, WS_RECHECK_MIN_SECONDS)
        while True:
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))
            if WebSocketState.DISCONNECTED in (websocket.client_state, websocket.application_state):
                return
            try:
                await run_in_threadpool(self.runtime.authenticator.authenticate, credential)
            except AuthenticationFailed:
                log.info("closing a websocket whose credential was revoked or expired")
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # closed meanwhile
                    await websocket.close(code=4403, reason="credential revoked or expired")
                return
            except Exception:
                log.exception("could not re-check a websocket's credential; trying again in %.1f s", interval)


class AuthenticatedGraphQL:
    """The HTTP GraphQL endpoint: authenticate, check the request's media types and parameters,
    answer order reads still current from the response cache, hand everything else over to
    strawberry. (A class, so Starlette mounts it as an ASGI app rather than a request handler.)"""

    def __init__(self, graphql: OmGraphQL, runtime: Runtime):
        self.graphql = graphql
        self.runtime = runtime
        megabytes = runtime.settings.response_cache_mb
        self.cache = ResponseCache(megabytes * 1_000_000) if megabytes > 0 else None

    async def __call__(self, scope, receive, send):
        graphql, runtime = self.graphql, self.runtime
        request = Request(scope, receive)
        if request.method == "GET" and not request.query_params.get("query"):
            if runtime.settings.graphiql_enabled:  # the GraphiQL page itself (it sends the token with each query)
                await graphql(scope, receive, send)
            else:
                await error_response(404, "GraphiQL is disabled")(scope, receive, send)
            return
        credential = request.headers.get("authorization")
        try:
            actor = runtime.authenticator.from_cache(credential)
            if actor is None:
                actor = await run_in_threadpool(runtime.authenticator.authenticate, credential)
        except AuthenticationFailed as exc:
            await _unauthorized(exc.message)(scope, receive, send)
            return
        scope.setdefault("state", {})["actor"] = actor
        media_type = response_media_type(request.headers.get("accept"))
        if media_type is None:
            message = f"cannot answer in any type the Accept header allows: use {GRAPHQL_RESPONSE} or {JSON}"
            await error_response(406, message)(scope, receive, send)
            return
        scope[MEDIA_TYPE_KEY] = media_type
        if request.method == "POST":
            problem = request_body_problem(request.headers.get("content-type"))
            if problem:
                await error_response(415, problem, media_type)(scope, receive, send)
                return
            body = await request.body()  # BodyLimit stops it at MAX_BODY_BYTES
            try:
                params = graphql_params(decode_json(body))
            except BadRequest as exc:
                await error_response(400, exc.message, media_type)(scope, receive, send)
                return
            scope[PARAMS_KEY] = params
            receive = _replay(body, receive)
            if self.cache is not None:
                await self._cached(self.cache, params, actor, media_type, scope, receive, send)
                return
        await graphql(scope, receive, send)

    @staticmethod
    def _cache_key(cache: ResponseCache, params: GraphQLParams, actor, media_type: str):
        # Runs before strawberry has validated anything: a document this code trips over is
        # not cacheable, and the executor gives the client its answer.
        try:
            return cache.request_key(params, actor, media_type)
        except Exception:
            log.exception("response cache: could not derive the key of a request; executing it uncached")
            return None

    async def _cached(self, cache: ResponseCache, params: GraphQLParams, actor, media_type: str, scope, receive, send) -> None:
        cacheable = self._cache_key(cache, params, actor, media_type)
        if cacheable is None:
            await self.graphql(scope, receive, send)
            return
        key, order_ids = cacheable
        probe = self.runtime.services.change_seqs
        current = probe(order_ids) if probe.blocking_is_cheap else await run_in_threadpool(probe, order_ids)
        change_seqs = tuple((i, current.get(i)) for i in order_ids)
        entry = cache.get(key, change_seqs)
        if entry is not None:
            scope[SCOPE_KEY] = CACHED_ORDER_READ  # for the request metrics: strawberry did not run
            await send({"type": "http.response.start", "status": entry.status, "headers": list(entry.headers)})
            await send({"type": "http.response.body", "body": entry.body})
            return
        captured: dict = {"chunks": []}

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                captured["status"], captured["headers"] = message["status"], tuple(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                captured["chunks"].append(message.get("body", b""))
                if not message.get("more_body") and captured.get("status") == 200:
                    body = b"".join(captured["chunks"])
                    if b'"errors"' not in body:
                        cache.put(key, Entry(change_seqs, 200, captured["headers"], body))
            await send(message)

        await self.graphql(scope, receive, capture)


def _replay(body: bytes, receive):
    """An ASGI receive that hands over a body already read, then the client's own messages."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or Runtime(settings)
    graphql = OmGraphQL(runtime)
    observe_operations(graphql.schema)
    endpoint = AuthenticatedGraphQL(graphql, runtime)

    async def health(_: Request) -> JSONResponse:
        cache = endpoint.cache
        writer = sqlite_writer_stats(runtime.engine)
        return JSONResponse(
            {
                "status": "ok",
                "mode": "scaled" if runtime.settings.scaled else "embedded",
                "responseCache": None if cache is None else {"entries": len(cache), "hits": cache.hits, "misses": cache.misses},
                "sqliteWriter": None
                if writer is None
                else {
                    "transactions": writer.transactions,
                    "heldSeconds": round(writer.held_seconds, 3),
                    "waitedSeconds": round(writer.waited_seconds, 3),
                },
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app):
        runtime.prepare_database()
        runtime.prepare_credentials()
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/health", health),
            *tmf_routes(runtime),  # the TMF Open API facade (om_graph/tmf, docs/tmf.md)
            *([graphiql.assets_mount()] if runtime.settings.graphiql_enabled else []),
            *web_routes(runtime),  # the workspace and portal (om_graph/web, docs/web.md)
        ],
        middleware=[Middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_observability(app, runtime, endpoint.cache)  # /ready, /metrics, request ids and metrics, tracing
    return app
