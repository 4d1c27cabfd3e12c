"""The ASGI application: GraphQL over HTTP and graphql-transport-ws, plus a health check.

Every GraphQL request is authenticated before strawberry sees it: a bearer token (an om-graph API
token or a JWT from the configured identity provider) in the ``Authorization`` header, or, on a
websocket, in the ``connection_init`` payload. Unauthenticated HTTP requests get 401; an
unauthenticated websocket is closed with 4403 before any data flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import timedelta

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from om_graph.core.auth import AuthenticationFailed
from om_graph.core.db import sqlite_writer_stats
from om_graph.runtime import Runtime
from om_graph.schema import build_schema
from om_graph.schema.context import Context
from om_graph.schema.response_cache import Entry, ResponseCache
from om_graph.settings import Settings

log = logging.getLogger(__name__)
WS_AUTH_TIMEOUT = timedelta(seconds=5)
WS_RECHECK_MIN_SECONDS = 0.2
WS_WATCH_KEY = "om_graph.credential_watch"
MAX_BODY_BYTES = 1_000_000


def _unauthorized(message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="om-graph"'},
    )


class _WebSocketAdapter(ASGIWebSocketAdapter):
    """Drops what a subscription sends after the server closed the socket (a revoked credential)
    instead of strawberry logging the failed send as an error."""

    async def send_json(self, message) -> None:
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        await super().send_json(message)


class OmGraphQL(GraphQL):
    websocket_adapter_class = _WebSocketAdapter

    def __init__(self, runtime: Runtime):
        settings = runtime.settings
        super().__init__(
            build_schema(),
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=WS_AUTH_TIMEOUT,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=not settings.production,
            max_subscriptions_per_connection=20,
        )
        self.runtime = runtime

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
        try:
            actor = await run_in_threadpool(self.runtime.authenticator.authenticate, credential)
        except AuthenticationFailed:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"}) from None
        context.actor = actor
        websocket: WebSocket = context.request
        # Kept in the connection's scope, where __call__ cancels it when the connection ends.
        websocket.scope[WS_WATCH_KEY] = asyncio.create_task(self._watch_credential(websocket, credential))

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            watch = scope.get(WS_WATCH_KEY)
            if watch is not None:
                watch.cancel()

    async def _watch_credential(self, websocket: WebSocket, credential: str) -> None:
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
    """The HTTP GraphQL endpoint: authenticate, answer order reads still current from the
    response cache, hand everything else over to strawberry. (A class, so Starlette mounts it as
    an ASGI app rather than a request handler.)"""

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
                await JSONResponse({"errors": [{"message": "GraphiQL is disabled"}]}, status_code=404)(scope, receive, send)
            return
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            await JSONResponse({"errors": [{"message": "request body too large"}]}, status_code=413)(scope, receive, send)
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
        if self.cache is not None and request.method == "POST":
            await self._cached(request, actor, scope, receive, send)
            return
        await graphql(scope, receive, send)

    async def _cached(self, request: Request, actor, scope, receive, send) -> None:
        body = await request.body()
        receive = _replay(body, receive)
        cacheable = self.cache.request_key(body, actor)
        if cacheable is None:
            await self.graphql(scope, receive, send)
            return
        key, order_ids = cacheable
        probe = self.runtime.services.revisions
        current = probe(order_ids) if probe.blocking_is_cheap else await run_in_threadpool(probe, order_ids)
        revisions = tuple((i, current.get(i)) for i in order_ids)
        entry = self.cache.get(key, revisions)
        if entry is not None:
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
                        self.cache.put(key, Entry(revisions, 200, captured["headers"], body))
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
    endpoint = AuthenticatedGraphQL(graphql, runtime)

    async def health(_: Request) -> JSONResponse:
        cache = endpoint.cache
        writer = sqlite_writer_stats(runtime.engine)
        return JSONResponse({
            "status": "ok",
            "mode": "scaled" if runtime.settings.scaled else "embedded",
            "responseCache": None if cache is None else {"entries": len(cache), "hits": cache.hits, "misses": cache.misses},
            "sqliteWriter": None if writer is None else {
                "transactions": writer.transactions,
                "heldSeconds": round(writer.held_seconds, 3),
                "waitedSeconds": round(writer.waited_seconds, 3),
            },
        })

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
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
