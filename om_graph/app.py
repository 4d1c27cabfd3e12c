"""The ASGI application: GraphQL over HTTP and graphql-transport-ws, plus a health check."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from om_graph.runtime import Runtime
from om_graph.schema import build_schema
from om_graph.schema.context import STAFF_ACTOR, Context
from om_graph.settings import Settings


class OmGraphQL(GraphQL):
    def __init__(self, runtime: Runtime, **kwargs):
        super().__init__(
            build_schema(),
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=timedelta(seconds=5),
            **kwargs,
        )
        self.runtime = runtime

    async def get_context(self, request, response) -> Context:
        return Context(
            services=self.runtime.services, bus=self.runtime.bus, actor=STAFF_ACTOR, request=request, response=response
        )


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or Runtime(settings)
    graphql = OmGraphQL(runtime)

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "mode": "scaled" if runtime.settings.scaled else "embedded"})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        runtime.prepare_database()
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = Starlette(
        routes=[Route("/graphql", graphql), WebSocketRoute("/graphql", graphql), Route("/health", health)],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
