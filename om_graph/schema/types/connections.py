"""Connections (keyset pages) of orders and products."""

from __future__ import annotations

import strawberry

from om_graph.schema.types.common import PageInfo
from om_graph.schema.types.inventory import Product
from om_graph.schema.types.ordering import Order

_TOTAL_COUNT = "How many match the filters, whatever the cursor: a COUNT over an index, run only when selected."


@strawberry.type
class OrderEdge:
    cursor: str
    node: Order


@strawberry.type
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description=_TOTAL_COUNT)


@strawberry.type
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description=_TOTAL_COUNT)
