"""TMF637 ``Product`` ← the core's product row: the one place the two vocabularies meet.

A product's ``id`` is its number as a string (``"7"``). ``status`` is TMF637's enum as the core
stores it: ``aborted`` without the trailing space the published schema has (``"aborted "``).
``productOffering`` and ``productSpecification`` point into TMF620, ``productOrderItem`` into
TMF622: the item (order line) that created the product (role ``creation``) and, when another
one changed it since, the last of those (role ``lastChange``). ``productPrice`` is the core's own
TMF-shaped ``product_price`` (one unit's charges, per price type, as the last order that settled
the product priced them, with their ``productPriceAlteration``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from om_graph.core.catalog.registry import Registry
from om_graph.core.reads.rows import Related
from om_graph.tmf.values import amounts, iso, ref, value_type

PRODUCT_TYPE = "Product"
ALWAYS = ("id", "href", "@type")  # server-set attributes a read always shows
CREATION = "creation"  # productOrderItem.role: the item that created the product
LAST_CHANGE = "lastChange"  # productOrderItem.role: the last item that changed it (when not the same)
# The core's line actions TMF v4 has no name for: a modify to a target status (as TMF622 maps them).
TMF_ACTIONS = {"suspend": "modify", "resume": "modify"}


@dataclass(frozen=True)
class OrderItem:
    """An order line a product links to: its order, line number and action (the core's)."""

    order_id: int
    line_number: int
    action: str


@dataclass(frozen=True)
class Hrefs:
    """Where the resources a product refers to live (collection URLs, no trailing slash)."""

    product: str  # TMF637 product
    offering: str  # TMF620 productOffering
    specification: str  # TMF620 productSpecification
    order: str  # TMF622 productOrder


def to_tmf(
    row: Any,
    related: Related,
    items: Sequence[tuple[str, OrderItem]],
    registry: Registry,
    hrefs: Hrefs,
) -> dict[str, Any]:
    """The ``Product`` of a product row; ``items`` are its (role, order line) links, oldest first."""
    offering = registry.offerings.get(row.offering_key)
    spec = registry.specifications.get(row.spec_key)
    declared = {c.name: c.value_type for c in spec.characteristics} if spec is not None else {}
    body: dict[str, Any] = {
        "id": str(row.id),
        "href": f"{hrefs.product}/{row.id}",
        "@type": PRODUCT_TYPE,
        "name": row.name,
        "status": row.status,
        "isBundle": False,
        "isCustomerVisible": True,
        "startDate": iso(row.start_date),
        "terminationDate": iso(row.termination_date),
        "productOffering": ref(
            row.offering_key,
            f"{hrefs.offering}/{row.offering_key}",
            "ProductOfferingRef",
            name=offering.name if offering is not None else None,
        ),
        "productSpecification": ref(
            row.spec_key,
            f"{hrefs.specification}/{row.spec_key}",
            "ProductSpecificationRef",
            name=spec.name if spec is not None else None,
            version=spec.version if spec is not None else None,
        ),
        "productCharacteristic": [
            {"name": name, "value": value, "valueType": declared.get(name) or value_type(value), "@type": "Characteristic"}
            for name, value in sorted((row.characteristics or {}).items())
        ],
        "productPrice": amounts(row.product_price or []),
        "productOrderItem": [_order_item(role, item, hrefs) for role, item in items],
        "relatedParty": [{"id": row.customer_id, "role": "customer", "@type": "RelatedParty", "@referredType": "Customer"}],
    }
    agreement = related.agreements.get(row.agreement_id) if row.agreement_id else None
    if row.agreement_id:
        body["agreement"] = [
            ref(row.agreement_id, None, "AgreementItemRef", name=agreement.name if agreement is not None else None)
        ]
    return {key: value for key, value in body.items() if value is not None}


def _order_item(role: str, item: OrderItem, hrefs: Hrefs) -> dict[str, Any]:
    return {
        "orderItemId": str(item.line_number),
        "productOrderId": str(item.order_id),
        "productOrderHref": f"{hrefs.order}/{item.order_id}",
        "orderItemAction": TMF_ACTIONS.get(item.action, item.action),
        "role": role,
        "@type": "RelatedProductOrderItem",
        "@referredType": "ProductOrderItem",
    }


def order_items(row: Any, lines: Mapping[int, OrderItem]) -> list[tuple[str, OrderItem]]:
    """A product's links: the line that created it and the last one that changed it (when
    another), as far as ``lines`` (order line id -> line) knows them."""
    found = []
    created = lines.get(row.order_line_id)
    if created is not None:
        found.append((CREATION, created))
    last = lines.get(row.last_order_line_id) if row.last_order_line_id != row.order_line_id else None
    if last is not None:
        found.append((LAST_CHANGE, last))
    return found
