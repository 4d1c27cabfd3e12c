"""Root query fields."""

from __future__ import annotations

import dataclasses

import strawberry
from graphql import FieldNode, FragmentSpreadNode
from strawberry import relay

from om_graph.core.errors import DomainError
from om_graph.core.queries import MAX_PAGE, encode_cursor
from om_graph.schema.context import Info
from om_graph.schema.enums import OrderState
from om_graph.schema.inputs import node_id
from om_graph.schema.types import (
    Order,
    OrderConnection,
    OrderEdge,
    PageInfo,
    Product,
    ProductConnection,
    ProductEdge,
    ProductOffering,
)

_CHILD_FIELDS = {"lines": "lines", "domainOrders": "domain_orders", "events": "events", "products": "products"}


def requested_children(info: Info, path: tuple[str, ...] = ()) -> frozenset[str]:
    """Which of an Order's child collections the query selects (fragments included). Walks the
    parsed document itself: strawberry's ``selected_fields`` would first convert the whole
    selection tree, on every request."""
    raw = info._raw_info
    fragments = raw.fragments
    wanted: set[str] = set()

    def fields(selection_set):
        for sel in selection_set.selections if selection_set is not None else ():
            if isinstance(sel, FieldNode):
                yield sel
            elif isinstance(sel, FragmentSpreadNode):
                fragment = fragments.get(sel.name.value)
                yield from fields(fragment.selection_set if fragment is not None else None)
            else:  # inline fragment
                yield from fields(sel.selection_set)

    def walk(selection_set, depth):
        for field in fields(selection_set):
            name = field.name.value
            if depth < len(path):
                if name == path[depth]:
                    walk(field.selection_set, depth + 1)
                continue
            if name in _CHILD_FIELDS:
                wanted.add(_CHILD_FIELDS[name])
                if name == "domainOrders" and any(f.name.value == "tasks" for f in fields(field.selection_set)):
                    wanted.add("tasks")

    for node in raw.field_nodes:
        walk(node.selection_set, 0)
    return frozenset(wanted)


@strawberry.type
class Query:
    @strawberry.field(description="Fetches an object given its ID; null when it does not exist or is not visible to you.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        definition = info.schema.get_type_by_name(id.type_name)
        origin = getattr(definition, "origin", None)
        if origin is None or not (isinstance(origin, type) and issubclass(origin, relay.Node)):
            return None
        [found] = await origin.resolve_nodes(info=info, node_ids=[id.node_id])
        return found

    @strawberry.field(description="Orderable offerings of the catalog.")
    async def product_offerings(self, info: Info) -> list[ProductOffering]:
        rows = await info.context.run(info.context.services.queries.offerings, info.context.actor)
        specs = info.context.services.registry.specifications
        return [
            ProductOffering.from_model(row, dataclasses.asdict(specs[row.product_spec_key]) if row.product_spec_key in specs else None)
            for row in rows
        ]

    @strawberry.field(description="One order with its lines, domain orders, tasks, events and products.")
    async def order(self, info: Info, id: relay.GlobalID) -> Order | None:
        try:
            order_id = node_id(id, "Order", "id")
        except DomainError:
            return None
        include = requested_children(info)
        found = await info.context.run(info.context.services.queries.orders_by_id, info.context.actor, [order_id], include)
        return Order.from_detail(found[order_id]) if order_id in found else None

    @strawberry.field(description=f"Orders, newest first (keyset pagination, at most {MAX_PAGE} per page).")
    async def orders(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        states: list[OrderState] | None = None,
        customer_id: str | None = None,
    ) -> OrderConnection:
        queries, actor = info.context.services.queries, info.context.actor
        include = requested_children(info, ("edges", "node"))
        page = await info.context.run(
            queries.orders, actor, first=first, after=after, states=[s.value for s in states or []], customer_id=customer_id,
            include=include,
        )
        edges = [OrderEdge(cursor=encode_cursor(d.order.id), node=Order.from_detail(d)) for d in page.items]
        return OrderConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, has_previous_page=after is not None, start_cursor=page.start_cursor, end_cursor=page.end_cursor
            ),
        )

    @strawberry.field(description="Inventory products, newest first.")
    async def products(
        self, info: Info, first: int = 20, after: str | None = None, customer_id: str | None = None, order_id: relay.GlobalID | None = None
    ) -> ProductConnection:
        queries, actor = info.context.services.queries, info.context.actor
        oid = node_id(order_id, "Order", "orderId") if order_id else None
        page = await info.context.run(queries.products, actor, first=first, after=after, customer_id=customer_id, order_id=oid)
        return ProductConnection(
            edges=[ProductEdge(cursor=encode_cursor(p.id), node=Product.from_model(p)) for p in page.items],
            page_info=PageInfo(
                has_next_page=page.has_next, has_previous_page=after is not None, start_cursor=page.start_cursor, end_cursor=page.end_cursor
            ),
        )
