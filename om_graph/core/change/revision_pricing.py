"""A revision's prices (core/change/revision.py): the order is priced again as it was sold,
with its own adjustments; what the revision adds (its discount, an added line's adjustments)
needs price:adjust as at capture."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission
from om_graph.core.change.revision_input import RevisionInput
from om_graph.core.kernel.errors import FieldError
from om_graph.core.ordering.models import Order
from om_graph.core.pricing.error_codes import PricingErrorCode
from om_graph.core.pricing.request import DISCOUNT, RECURRING, PriceAdjustment

REVISION_DISCOUNT = "revision discount"


def order_adjustments(percent: Decimal | None) -> tuple[PriceAdjustment, ...]:
    """A revision's manual discount: a percentage off the order's recurring charges."""
    if percent is None or percent == 0:
        return ()
    return (PriceAdjustment(DISCOUNT, RECURRING, REVISION_DISCOUNT, percentage=percent),)


def new_adjustment_errors(actor: Actor, changes: RevisionInput) -> list[FieldError]:
    """The order's own adjustments were authorised when it was sold; a revision's new ones (its
    discount, an added line's) need price:adjust as at capture."""
    if actor.can(Permission.PRICE_ADJUST):
        return []
    errors = []
    if changes.manual_discount_percent:
        errors.append(
            FieldError("manualDiscountPercent", f"{actor.label} may not adjust prices", PricingErrorCode.ADJUSTMENT_NOT_ALLOWED)
        )
    for index, line in enumerate(changes.add_lines):
        if line.price_adjustments:
            errors.append(
                FieldError(
                    f"addLines.{index}.priceAdjustments",
                    f"{actor.label} may not adjust prices",
                    PricingErrorCode.ADJUSTMENT_NOT_ALLOWED,
                )
            )
    return errors


@dataclass
class Priced:
    """The revised order's prices, in the shape ``apply_prices`` takes (a ``PricedOrder``)."""

    price_list: str | None
    currency: str
    total_prices: Any
    one_time_total: Decimal
    recurring_total: Decimal
    manual_discount_percent: Decimal
    discount_over_limit: bool
    lines: list[Any]

    def __init__(self, revised: Order):
        self.price_list, self.currency, self.total_prices = revised.price_list, revised.currency, revised.total_prices
        self.one_time_total, self.recurring_total = revised.one_time_total, revised.recurring_total
        self.manual_discount_percent, self.discount_over_limit = revised.manual_discount_percent, revised.discount_over_limit
        self.lines = [_PricedLine(line.prices, line.unit_one_time_price, line.unit_recurring_price) for line in revised.lines]


@dataclass
class _PricedLine:
    prices: Any
    unit_one_time_price: Decimal
    unit_recurring_price: Decimal
