"""TMF637 products, TMF651 agreements (contracts) and entitlements."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from om_graph.core.kernel.models import Base, Id, utcnow


class Agreement(Base):
    """TMF651-style contract created when an order completes."""

    __tablename__ = "agreement"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(80), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24))
    start_date: Mapped[datetime]
    end_date: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Product(Base):
    """TMF637 product inventory: what the customer has, linked back to the order line."""

    __tablename__ = "product"
    __table_args__ = (
        Index("ix_product_customer_id_id", "customer_id", "id"),
        Index("ix_product_customer_id_status", "customer_id", "status"),  # lifecycle.approval.is_new_customer
        Index("ix_product_order_id", "order_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    offering_key: Mapped[str] = mapped_column(String(120))
    spec_key: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(24))
    characteristics: Mapped[dict[str, Any]]
    one_time_price: Mapped[Decimal]
    recurring_price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))  # the prices' (the offering's) currency
    # TMF637 productPrice[] as the last order that settled the product priced it (per unit, with
    # its productPriceAlteration[]): what a modify line's delta and a disconnect's charge read.
    product_price: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"))
    last_order_line_id: Mapped[int] = mapped_column(Id)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"))
    start_date: Mapped[datetime | None]
    termination_date: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    agreement: Mapped[Agreement | None] = relationship(viewonly=True)
    entitlements: Mapped[list[Entitlement]] = relationship(order_by="Entitlement.id", viewonly=True)


class Entitlement(Base):
    __tablename__ = "entitlement"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(80), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"))
    name: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int]
    unit: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProductStatusChange(Base):
    """A product's history (TMF637): each status change (and each modify), with the order line
    that made it and the characteristics it left."""

    __tablename__ = "product_status_change"
    __table_args__ = (Index("ix_product_status_change_product_id_id", "product_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(Id)
    order_line_id: Mapped[int | None] = mapped_column(Id)
    event: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(120))
    characteristics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)
