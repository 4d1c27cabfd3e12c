"""Root query fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from graphql import FieldNode, FragmentSpreadNode
from strawberry import relay

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, ValidationFailed
from om_graph.core.kernel.ids import key_number
from om_graph.core.pricing.request import visible_price_lists
from om_graph.core.reads.error_codes import ReadsErrorCode
from om_graph.core.reads.queries import MAX_PAGE, encode_cursor
from om_graph.schema.context import Info
from om_graph.schema.enums import JeopardyLevel, OrderState
from om_graph.schema.inputs import node_id, parse_global_id, too_long, utc_naive
from om_graph.schema.limits import (
    MAX_CURSOR_LENGTH,
    MAX_CUSTOMER_ID_LENGTH,
    MAX_STATE_FILTERS,
)
from om_graph.schema.loaders import MAX_NODE_IDS, load_nodes
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
from om_graph.schema.types.pricing import PriceList

# Selected fields -> the children to load (an order's; "tasks" is also a domain order's).
_CHILD_FIELDS = {
    "lines": "lines",
    "pointOfNoReturn": "lines",  # the order's is its lines' strongest
    "domainOrders": "domain_orders",
    "events": "events",
    "products": "products",
    "tasks": "tasks",
}


def _fields(selection_set, fragments):
    """The fields of a selection set, through fragments (spreads and inline)."""
    for sel in selection_set.selections if selection_set is not None else ():
        if isinstance(sel, FieldNode):
            yield sel
        elif isinstance(sel, FragmentSpreadNode):
            fragment = fragments.get(sel.name.value)
            yield from _fields(fragment.selection_set if fragment is not None else None, fragments)
        else:  # inline fragment
            yield from _fields(sel.selection_set, fragments)


def requested_children(info: Info, path: tuple[str, ...] = ()) -> frozenset[str]:
    """Which of an Order's (or a DomainOrder's) child collections the query selects (fragments included). Walks the
    parsed document itself: strawberry's ``selected_fields`` would first convert the whole
    selection tree, on every request."""
    raw = info._raw_info
    fragments = raw.fragments
    wanted: set[str] = set()

    def walk(selection_set, depth):
        for field in _fields(selection_set, fragments):
            name = field.name.value
            if depth < len(path):
                if name == path[depth]:
                    walk(field.selection_set, depth + 1)
                continue
            if name in _CHILD_FIELDS:
                wanted.add(_CHILD_FIELDS[name])
                if name == "domainOrders" and any(f.name.value == "tasks" for f in _fields(field.selection_set, fragments)):
                    wanted.add("tasks")

    for node in raw.field_nodes:
        walk(node.selection_set, 0)
    return frozenset(wanted)


def selects_total_count(info: Info) -> bool:
    raw = info._raw_info
    return any(f.name.value == "totalCount" for node in raw.field_nodes for f in _fields(node.selection_set, raw.fragments))


def check_arguments(*problems: FieldError | None) -> None:
    """Raise the problems found in a query's arguments (a GraphQL error with their code)."""
    found = [p for p in problems if p is not None]
    if found:
        raise ValidationFailed(found)


def _cursor_problem(after: str | None) -> FieldError | None:
    if after is not None and len(after) > MAX_CURSOR_LENGTH:
        return FieldError("after", "not a cursor this API issued", ReadsErrorCode.INVALID_CURSOR)
    return None


def _page_info(page, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=after is not None,
        start_cursor=page.start_cursor,
        end_cursor=page.end_cursor,
    )


@strawberry.type
class Query:
    @strawberry.field(description="Fetches an object given its ID; null when it does not exist or is not visible to you.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        [found] = await load_nodes(info, [id], requested_children(info))
        return found

    @strawberry.field(
        description=(
            f"Fetches objects given their IDs (at most {MAX_NODE_IDS}), in the same order; null for each one that "
            "does not exist or is not visible to you."
        )
    )
    async def nodes(self, info: Info, ids: list[relay.GlobalID]) -> list[relay.Node | None]:
        return await load_nodes(info, ids, requested_children(info))

    @strawberry.field(description="Orderable offerings of the catalog.")
    async def product_offerings(self, info: Info) -> list[ProductOffering]:
        rows = await info.context.call(info.context.services.queries.offerings, info.context.actor)
        registry = info.context.services.registry
        return [ProductOffering.from_row(row, registry) for row in rows]

    @strawberry.field(description="Price lists (currency, validity, audience, tax) with their offering prices.")
    async def price_lists(self, info: Info) -> list[PriceList]:
        lists = await info.context.call(visible_price_lists, info.context.actor, info.context.services.registry.price_lists)
        return [PriceList.from_definition(p) for p in lists]

    @strawberry.field(description="One order with its lines, domain orders, tasks, events and products.")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        global_id = parse_global_id(id, "id")
        order_id = key_number(global_id.node_id) if global_id.type_name == "Order" else None
        if order_id is None:
            return None  # no such order, as node() answers it
        include = requested_children(info)
        found = await info.context.call(info.context.services.queries.orders_by_id, info.context.actor, [order_id], include)
        return Order.from_detail(found[order_id]) if order_id in found else None

    @strawberry.field(description=f"Orders, newest first (keyset pagination, at most {MAX_PAGE} per page).")
    async def orders(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        states: list[OrderState] | None = None,
        customer_id: str | None = None,
        jeopardy: list[JeopardyLevel] | None = None,
        created_from: Annotated[datetime | None, strawberry.argument(description="Created at or after.")] = None,
        created_to: Annotated[datetime | None, strawberry.argument(description="Created before.")] = None,
    ) -> OrderConnection:
        check_arguments(
            FieldError("states", f"at most {MAX_STATE_FILTERS} states", CommonErrorCode.TOO_MANY)
            if states and len(states) > MAX_STATE_FILTERS
            else None,
            too_long(customer_id, MAX_CUSTOMER_ID_LENGTH, "customerId"),
            _cursor_problem(after),
        )
        queries, actor = info.context.services.queries, info.context.actor
        include = requested_children(info, ("edges", "node"))
        page = await info.context.call(
            queries.orders,
            actor,
            first=first,
            after=after,
            states=sorted({s.value for s in states or []}),
            customer_id=customer_id,
            jeopardy=sorted({j.value for j in jeopardy or []}),
            created_from=utc_naive(created_from),
            created_to=utc_naive(created_to),
            include=include,
            count=selects_total_count(info),
        )
        edges = [OrderEdge(cursor=encode_cursor(d.order.id), node=Order.from_detail(d)) for d in page.items]
        return OrderConnection(edges=edges, page_info=_page_info(page, after), total_count=page.total_count)

    @strawberry.field(description="Inventory products, newest first.")
    async def products(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        customer_id: str | None = None,
        order_id: strawberry.ID | None = None,
    ) -> ProductConnection:
        check_arguments(too_long(customer_id, MAX_CUSTOMER_ID_LENGTH, "customerId"), _cursor_problem(after))
        queries, actor = info.context.services.queries, info.context.actor
        oid = node_id(order_id, "Order", "orderId") if order_id is not None else None
        page = await info.context.call(
            queries.products,
            actor,
            first=first,
            after=after,
            customer_id=customer_id,
            order_id=oid,
            count=selects_total_count(info),
        )
        return ProductConnection(
            edges=[ProductEdge(cursor=encode_cursor(p.id), node=Product.from_row(p, page.related)) for p in page.items],
            page_info=_page_info(page, after),
            total_count=page.total_count,
        )
