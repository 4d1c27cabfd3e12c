"""Batched loading of nodes by id: ``node`` and ``nodes`` fields resolved in the same tick of the
event loop share one thread-pool call, which reads each type in one statement (``QueryService.nodes``)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from strawberry import relay
from strawberry.dataloader import DataLoader

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.ids import key_number
from om_graph.core.reads.queries import MAX_PAGE, NodeRows
from om_graph.schema.context import Info
from om_graph.schema.permissions import may_see
from om_graph.schema.types import DomainOrder, Order, Product, ProductOffering, Task
from om_graph.schema.types.change import CancelRequest
from om_graph.schema.types.fallout import Fallout

MAX_NODE_IDS = MAX_PAGE

# Node type -> QueryService.nodes argument.
_KINDS = {
    "Order": "orders",
    "DomainOrder": "domain_orders",
    "Task": "tasks",
    "Product": "products",
    "ProductOffering": "offerings",
    "Fallout": "fallouts",  # read by the fallout service (core/fulfilment/fallout.py), not QueryService.nodes
    "CancelRequest": "cancel_requests",  # read by the cancellation service (core/change/cancellation.py)
}

# Ids the API hands out for objects that are not Nodes, and where to read those objects.
_READ_THROUGH = {"OrderLine": "order", "OrderEvent": "order", "Agreement": "product"}


@dataclass(frozen=True)
class NodeKey:
    type_name: str
    id: int
    include: frozenset[str]  # the children the selection asks for (an order's, a domain order's tasks)


class NodeLoader:
    """One per request. Keys are not cached across batches: a websocket connection keeps its
    context for its lifetime, and a later operation must read the rows as they are then."""

    def __init__(self, info: Info):
        self._context = info.context
        self._loader = DataLoader(self._load, cache=False)

    def load(self, key: NodeKey):
        return self._loader.load(key)

    async def _load(self, keys: list[NodeKey]) -> list:
        wanted: dict[str, list[int]] = defaultdict(list)
        include: set[str] = set()
        for key in keys:
            wanted[_KINDS[key.type_name]].append(key.id)
            include |= key.include
        context = self._context
        fallout_ids = wanted.pop("fallouts", None)
        fallouts = await context.call(context.services.fallout.by_ids, context.actor, fallout_ids) if fallout_ids else {}
        cancel_ids = wanted.pop("cancel_requests", None)
        cancels = await context.call(context.services.cancel_requests.by_ids, context.actor, cancel_ids) if cancel_ids else {}
        found = (
            await context.call(context.services.queries.nodes, context.actor, include=frozenset(include), **wanted)
            if wanted
            else NodeRows()
        )
        registry = context.services.registry
        return [
            (Fallout.from_row(fallouts[key.id]) if key.id in fallouts else None)
            if key.type_name == "Fallout"
            else (CancelRequest.from_row(cancels[key.id]) if key.id in cancels else None)
            if key.type_name == "CancelRequest"
            else _node(found, key, registry)
            for key in keys
        ]


def _node(found: NodeRows, key: NodeKey, registry) -> relay.Node | None:
    """The API object of one key from the loaded rows (None when it was not found or not visible)."""
    related = found.related
    match key.type_name:
        case "Order":
            detail = found.orders.get(key.id)
            return Order.from_detail(detail) if detail else None
        case "DomainOrder":
            row = found.domain_orders.get(key.id)
            if row is None:
                return None
            return DomainOrder.from_row(row, [Task.from_row(t, related) for t in related.domain_order_tasks.get(key.id, ())])
        case "Task":
            row = found.tasks.get(key.id)
            return Task.from_row(row, related) if row else None
        case "Product":
            row = found.products.get(key.id)
            return Product.from_row(row, related) if row else None
        case "ProductOffering":
            row = found.offerings.get(key.id)
            return ProductOffering.from_row(row, registry) if row else None
    raise AssertionError(key.type_name)


def _loader(info: Info) -> NodeLoader:
    context = info.context
    if context.node_loader is None:
        context.node_loader = NodeLoader(info)
    return context.node_loader


def _key(info: Info, id: relay.GlobalID, include: frozenset[str]) -> NodeKey | None:
    """What to load for ``id``; None when no row can be behind it or the actor may not see its type."""
    definition = info.schema.get_type_by_name(id.type_name)
    if definition is None:
        return None  # well-formed but names no type of ours: unknown, like a missing row
    if id.type_name not in _KINDS:
        # Our own id of a type node() cannot fetch (OrderLine, OrderEvent, Agreement): null
        # would read as "does not exist", so say where it can be read instead.
        where = _READ_THROUGH.get(id.type_name)
        hint = f"; read them through their {where}" if where else ""
        raise ValidationFailed.single("id", f"{id.type_name} ids cannot be fetched with node(){hint}", CommonErrorCode.INVALID_ID)
    number = key_number(id.node_id)
    if number is None or not may_see(info, id.type_name):
        return None  # no row has it (a number beyond 64 bits the database could not even bind), or not for this actor
    return NodeKey(id.type_name, number, include)


async def load_nodes(info: Info, ids: Sequence[relay.GlobalID], include: frozenset[str]) -> list[relay.Node | None]:
    """The nodes of ``ids`` in their order, None for missing or invisible ones; batched with
    every other node field of the request resolved at the same time."""
    if len(ids) > MAX_NODE_IDS:
        raise ValidationFailed.single("ids", f"at most {MAX_NODE_IDS} ids", CommonErrorCode.TOO_MANY)
    keys = [_key(info, id, include) for id in ids]
    loader = _loader(info)
    return list(await asyncio.gather(*(loader.load(k) if k else _none() for k in keys)))


async def _none() -> None:
    return None
