"""Inputs to the order use cases, independent of any API."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from om_graph.core.pricing.request import PriceAdjustment

MAX_LINES = 100
MAX_CHARACTERISTICS = 50


@dataclass(frozen=True)
class LineInput:
    offering: str | None = None
    quantity: int = 1
    action: str = "add"
    characteristics: dict[str, Any] = field(default_factory=dict)
    product_id: int | None = None
    price_adjustments: tuple[PriceAdjustment, ...] = ()  # manual discounts and surcharges (price:adjust)
    # TMF622 productOrderItemRelationship: (other line's number, type), ordering/relationships.py.
    relationships: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class OrderInput:
    customer_id: str
    lines: tuple[LineInput, ...]
    description: str = ""
    external_id: str | None = None
    requested_completion_date: datetime | None = None
    idempotency_key: str | None = None
    requested_start_date: datetime | None = None  # TMF622: fulfilment is planned from it (schedule.py)
    segment: str | None = None  # the customer segment (staff and partners set it; price lists, policies)
    price_adjustments: tuple[PriceAdjustment, ...] = ()  # order-level manual adjustments
    price_list: str | None = None  # a price list an agent chooses (price:adjust); None: the defaulting rule

    def fingerprint(self) -> str:
        """A hash of everything but the idempotency key: a retry must send the same payload."""
        body = asdict(self)
        body.pop("idempotency_key")
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
