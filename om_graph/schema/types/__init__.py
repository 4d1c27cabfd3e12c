"""Output types, one module per context (mirroring ``om_graph.core``). Built once per request
from loaded Core rows by one mapper per type (``from_row``/``from_detail``): plain attributes,
no per-field resolvers."""

from om_graph.schema.types.approval import EnrichmentTask, OrderApproval
from om_graph.schema.types.catalog import CharacteristicSpecification, ProductOffering, ProductSpecification
from om_graph.schema.types.common import Characteristic, Money, PageInfo, characteristics, gid
from om_graph.schema.types.connections import OrderConnection, OrderEdge, ProductConnection, ProductEdge
from om_graph.schema.types.fallout import Fallout
from om_graph.schema.types.fulfilment import DomainOrder, Task, TaskDependency
from om_graph.schema.types.inventory import Agreement, Entitlement, Product
from om_graph.schema.types.ordering import Order, OrderEvent, OrderLine

__all__ = [
    "Agreement",
    "Characteristic",
    "CharacteristicSpecification",
    "DomainOrder",
    "EnrichmentTask",
    "Entitlement",
    "Money",
    "Order",
    "OrderApproval",
    "OrderConnection",
    "OrderEdge",
    "OrderEvent",
    "OrderLine",
    "PageInfo",
    "Product",
    "ProductConnection",
    "ProductEdge",
    "ProductOffering",
    "ProductSpecification",
    "Task",
    "TaskDependency",
    "characteristics",
    "gid",
]

OBJECT_TYPES = [Order, OrderLine, DomainOrder, Task, OrderEvent, Product, ProductOffering, ProductSpecification]
OBJECT_TYPES += [EnrichmentTask, OrderApproval]  # core/lifecycle (issue 12)
OBJECT_TYPES += [Fallout]  # core/fulfilment/fallout.py (issue 13)
