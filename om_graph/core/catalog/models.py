"""What can be sold: specifications and offerings as synced from the packs' catalog."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from om_graph.core.kernel.models import Base, Id


class Specification(Base):
    __tablename__ = "catalog_specification"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(32))
    pack: Mapped[str] = mapped_column(String(80))
    definition: Mapped[dict[str, Any]]


class Offering(Base):
    __tablename__ = "catalog_offering"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    product_spec_key: Mapped[str] = mapped_column(String(120))
    one_time_price: Mapped[Decimal]
    recurring_price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    recurring_period: Mapped[str] = mapped_column(String(16))
    min_quantity: Mapped[int]
    max_quantity: Mapped[int]
    pack: Mapped[str] = mapped_column(String(80))
    lifecycle_status: Mapped[str] = mapped_column(String(16), default="active")
