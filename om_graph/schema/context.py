"""Per-request context: the runtime's services, the bus and the authenticated actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info as StrawberryInfo

from om_graph.core.access.actor import Actor
from om_graph.core.kernel.errors import DomainError
from om_graph.core.services import Services


@dataclass
class Context:
    services: Services
    bus: Any
    actor: Actor | None
    allow_introspection: bool = True
    request: Any = None
    response: Any = None
    connection_params: Any = None  # the websocket connection_init payload

    async def call(self, fn, *args, **kwargs):
        """Core services are synchronous (SQLAlchemy sessions); run them off the event loop."""
        return await run_in_threadpool(fn, *args, **kwargs)

    async def run(self, fn, *args, **kwargs):
        """Like ``call``, for queries: expected domain errors become GraphQL errors with a code."""
        try:
            return await run_in_threadpool(fn, *args, **kwargs)
        except DomainError as exc:
            first = exc.errors[0]
            raise GraphQLError(first.message, extensions={"code": first.code, "field": first.field}, original_error=exc) from exc


Info = StrawberryInfo[Context, Any]
