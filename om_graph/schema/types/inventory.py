"""Inventory output types: products, their contracts and entitlements, mapped from Core rows."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.types import Info

from om_graph.core.reads.queries import Related
from om_graph.schema.context import batched
from om_graph.schema.enums import ProductStatus, members_by_value
from om_graph.schema.types.common import Characteristic, Money, characteristics, gid
from om_graph.schema.types.pricing import OrderPrice, order_prices

_PRODUCT_STATUSES = members_by_value(ProductStatus)


@strawberry.type(description="A contract (TMF651 agreement) written when an order completes.")
class Agreement:
    id: relay.GlobalID
    name: str
    status: str
    start_date: datetime
    end_date: datetime | None

    @classmethod
    def from_row(cls, row) -> Agreement:
        return cls(
            id=gid("Agreement", row.id), name=row.name, status=row.status, start_date=row.start_date, end_date=row.end_date
        )


@strawberry.type(description="What a sold product entitles the customer to (licence seats, support plans).")
class Entitlement:
    id: relay.GlobalID
    name: str
    quantity: int
    unit: str
    status: str

    @classmethod
    def from_row(cls, row) -> Entitlement:
        return cls(id=gid("Entitlement", row.id), name=row.name, quantity=row.quantity, unit=row.unit, status=row.status)


@strawberry.type(description="One change in a product's history (TMF637): a status change or a modification.")
class ProductStatusChange:
    at: datetime
    event: str = strawberry.field(description="The product machine's event (startActivation, activate, modify, suspend, ...).")
    from_status: ProductStatus | None = strawberry.field(description="Null: the product was created.")
    to_status: ProductStatus
    order_id: relay.GlobalID | None = strawberry.field(description="The order whose line made the change.")
    order_line_id: relay.GlobalID | None
    actor: str
    characteristics: list[Characteristic] = strawberry.field(description="The product's characteristics after the change.")

    @classmethod
    def from_row(cls, row) -> ProductStatusChange:
        return cls(
            at=row.at,
            event=row.event,
            from_status=_PRODUCT_STATUSES[row.from_status] if row.from_status else None,
            to_status=_PRODUCT_STATUSES[row.to_status],
            order_id=gid("Order", row.order_id) if row.order_id else None,
            order_line_id=gid("OrderLine", row.order_line_id) if row.order_line_id else None,
            actor=row.actor,
            characteristics=characteristics(row.characteristics or {}),
        )


async def product_history(root, info: Info) -> list[ProductStatusChange]:
    """The product's history, oldest first."""
    rows = await batched(info, info.context.services.product_history.of_products).load(int(root.id))
    return [ProductStatusChange.from_row(r) for r in rows]


@strawberry.type
class Product(relay.Node):
    """An inventory product (TMF637)."""

    id: relay.NodeID[int]
    name: str
    customer_id: str
    offering_key: str
    status: ProductStatus
    characteristics: list[Characteristic]
    one_time_price: Money | None
    recurring_price: Money | None
    product_price: list[OrderPrice] = strawberry.field(
        description="TMF637 productPrice: one unit's charges as its last order priced them, with their alterations."
    )
    order_id: relay.GlobalID
    order_line_id: relay.GlobalID
    agreement_id: relay.GlobalID | None
    agreement: Agreement | None
    entitlements: list[Entitlement]
    start_date: datetime | None
    termination_date: datetime | None
    history: list[ProductStatusChange] = strawberry.field(
        resolver=product_history,
        description="TMF637: every status change and modification of the product, oldest first, with the order line that made it.",
    )

    @classmethod
    def from_row(cls, row, related: Related) -> Product:
        """From a product row (prices in the row's own currency); its contract from ``related``."""
        agreement = related.agreements.get(row.agreement_id) if row.agreement_id else None
        return cls(
            id=row.id,
            name=row.name,
            customer_id=row.customer_id,
            offering_key=row.offering_key,
            status=_PRODUCT_STATUSES[row.status],
            characteristics=characteristics(row.characteristics),
            one_time_price=Money(amount=row.one_time_price, currency=row.currency),
            recurring_price=Money(amount=row.recurring_price, currency=row.currency),
            product_price=order_prices(row.product_price),
            order_id=gid("Order", row.order_id),
            order_line_id=gid("OrderLine", row.order_line_id),
            agreement_id=gid("Agreement", row.agreement_id) if row.agreement_id else None,
            agreement=Agreement.from_row(agreement) if agreement else None,
            entitlements=[Entitlement.from_row(e) for e in related.entitlements.get(row.id, ())],
            start_date=row.start_date,
            termination_date=row.termination_date,
        )
