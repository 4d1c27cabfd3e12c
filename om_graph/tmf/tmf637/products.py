"""TMF637 ``product``: GET (list and by id), thin handlers over the core's inventory reads.

The products are the core's (``QueryService.product_slice`` and ``nodes``), with its permissions
and account scoping: a customer's token lists its own account's products, another account's
product id is a 404. A product's ``productOrderItem`` links come from two more core reads, made
once for the whole page: its history (which order made the last change) and those orders' lines
(their line numbers and actions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import JSONResponse, Response

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission
from om_graph.core.inventory.states import ProductStatuses
from om_graph.core.reads.rows import Related
from om_graph.tmf.apis import PRODUCT_CATALOG, PRODUCT_ORDERING, api_href
from om_graph.tmf.errors import TmfError
from om_graph.tmf.http import Call
from om_graph.tmf.query import Filterable, id_value, list_response, parse_datetime, parse_fields, parse_list, select
from om_graph.tmf.tmf637 import product_mapping as mapping

RESOURCE = "product"
LINES = frozenset({"lines"})


def _status(value: str) -> str:
    status = value.strip()  # TMF637's own enum spells "aborted " with a trailing space
    if status not in ProductStatuses.values():
        raise ValueError(f"not a product status (one of {', '.join(sorted(ProductStatuses.values()))})")
    return status


FILTERS = {
    "id": Filterable("id", id_value),
    "status": Filterable("status", _status),
    "name": Filterable("name"),
    "relatedParty.id": Filterable("customer_id"),
    "productOffering.id": Filterable("offering_key"),
    "productSpecification.id": Filterable("spec_key"),
    "productOrderItem.productOrderId": Filterable("order_id", id_value),  # the order that created it
    "startDate": Filterable("start_date", parse_datetime, ordered=True),
    "terminationDate": Filterable("termination_date", parse_datetime, ordered=True),
}


def product_id(call: Call) -> int:
    return call.path_id("product")


def hrefs(call: Call) -> mapping.Hrefs:
    return mapping.Hrefs(
        product=api_href(call, call.base, RESOURCE),
        offering=api_href(call, PRODUCT_CATALOG, "productOffering"),
        specification=api_href(call, PRODUCT_CATALOG, "productSpecification"),
        order=api_href(call, PRODUCT_ORDERING, "productOrder"),
    )


def order_lines(services: Any, actor: Actor, products: Sequence[Any]) -> dict[int, mapping.OrderItem]:
    """The order lines ``products`` link to (order line id -> line): the ones that created them
    and the last ones that changed them (their orders from the products' history). Empty for a
    reader who may not read orders (the links would name orders it cannot see)."""
    if not products or not actor.can(Permission.ORDER_READ):
        return {}
    order_ids = {p.order_id for p in products}
    changed = [p for p in products if p.last_order_line_id != p.order_line_id]
    if changed:
        wanted = {p.last_order_line_id for p in changed}
        history = services.product_history.of_products(actor, [p.id for p in changed])
        order_ids |= {h.order_id for rows in history.values() for h in rows if h.order_line_id in wanted and h.order_id}
    details = services.queries.orders_by_id(actor, sorted(order_ids), LINES)
    return {
        line.id: mapping.OrderItem(detail.order.id, line.line_number, line.action)
        for detail in details.values()
        for line in detail.lines
    }


async def render(call: Call, products: Sequence[Any], related: Related) -> list[dict[str, Any]]:
    lines = await call.run(order_lines, call.services, call.actor, products)
    links, registry = hrefs(call), call.services.registry
    return [mapping.to_tmf(p, related, mapping.order_items(p, lines), registry, links) for p in products]


async def get_one(call: Call) -> Response:
    fields = parse_fields(call.request.query_params)
    number = product_id(call)
    found = await call.run(call.services.queries.nodes, call.actor, products=[number])
    row = found.products.get(number)
    if row is None:
        raise TmfError(404, "NOT_FOUND", f"no product {number}")
    [product] = await render(call, [row], found.related)
    return JSONResponse(select(product, fields, mapping.ALWAYS))


async def get_list(call: Call) -> Response:
    query = parse_list(call.request.query_params, FILTERS)
    found = await call.run(
        call.services.queries.product_slice, call.actor, offset=query.offset, limit=query.limit, criteria=query.criteria
    )
    products = await render(call, found.items, found.related)
    return list_response([select(p, query.fields, mapping.ALWAYS) for p in products], found.total)
