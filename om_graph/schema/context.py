"""Per-request context: the runtime's services, the bus and the authenticated actor, and the one
way resolvers call the core."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader
from strawberry.extensions import FieldExtension
from strawberry.types import Info as StrawberryInfo

from om_graph.core.access.actor import Actor
from om_graph.core.access.error_codes import AccessErrorCode
from om_graph.core.kernel.errors import DomainError, FieldError
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
    node_loader: Any = field(default=None, repr=False)  # schema.loaders.NodeLoader, made on first use
    batches: dict[str, Any] = field(default_factory=dict, repr=False)  # batched(), by fetch

    @property
    def acting(self) -> Actor:
        """The authenticated actor, for resolvers that reach the core (RequirePermission checks it
        before they run, the websocket handshake before a subscription starts)."""
        if self.actor is None:
            raise GraphQLError("authentication required", extensions={"code": AccessErrorCode.UNAUTHENTICATED})
        return self.actor

    async def call(self, fn, *args, **kwargs):
        """Run a core service off the event loop (services are synchronous: SQLAlchemy sessions).

        An expected DomainError becomes a GraphQL error with its code and field: a top-level
        error, unless the resolver is declared a mutation answering in its payload
        (``ErrorsInPayload``), which turns it into the payload's errors."""
        try:
            return await run_in_threadpool(fn, *args, **kwargs)
        except DomainError as exc:
            first = exc.errors[0]
            raise GraphQLError(first.message, extensions={"code": first.code, "field": first.field}, original_error=exc) from exc


class ErrorsInPayload(FieldExtension):
    """Declares a mutation's kind: the expected domain errors of its resolver (through
    ``Context.call`` or raised directly) are answered as its payload's ``errors``, each built by
    ``to_error`` from a FieldError; nothing was changed."""

    def __init__(self, to_error: Callable[[FieldError], object]):
        self._to_error = to_error
        self._payload: Callable[..., object] | None = None  # the mutation's payload type, once applied

    def apply(self, field) -> None:
        self._payload = field.type

    async def resolve_async(self, next_, source, info, **kwargs):
        try:
            return await next_(source, info, **kwargs)
        except GraphQLError as exc:
            if not isinstance(exc.original_error, DomainError):
                raise
            return self._answer(exc.original_error)
        except DomainError as exc:
            return self._answer(exc)

    def _answer(self, exc: DomainError) -> object:
        assert self._payload is not None, "a field extension is applied when the schema is built"
        return self._payload(errors=[self._to_error(e) for e in exc.errors])


Info = StrawberryInfo[Context, Any]


def batched(info: Info, fetch: Callable[[Actor, list[int]], Mapping[int, list]]) -> DataLoader:
    """A per-request loader of one kind of child rows by parent id: the fields resolved in the
    same tick (an order list's ``approvals``) share one ``fetch(actor, ids)`` call, which answers
    ``{parent id: rows}``. Not cached across batches (a websocket connection keeps its context:
    a later operation must read the rows as they are then), like ``loaders.NodeLoader``."""
    context = info.context
    name = fetch.__qualname__
    loader = context.batches.get(name)
    if loader is None:

        async def load(ids: list[int]) -> list[list]:
            found = await context.call(fetch, context.acting, list(ids))
            return [found.get(i, []) for i in ids]

        loader = context.batches[name] = DataLoader(load, cache=False)
    return loader
