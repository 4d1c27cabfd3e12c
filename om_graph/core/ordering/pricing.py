"""Pricing an order being captured: the Pricer's request built from validated lines, and its
answer applied to the order and its lines (orderCreate, orderUpdate; orderPreview reuses
:func:`pricing_request`). Submit never calls this: a submitted order's prices are frozen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from om_graph.core.access.actor import Actor
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.models import money, utcnow
from om_graph.core.ordering.commands import OrderInput
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.validation import ValidLine
from om_graph.core.pricing.pricer import Pricer
from om_graph.core.pricing.request import (
    InstalledProduct,
    LineToPrice,
    PricedOrder,
    PricingRequest,
    Tables,
    adjustments_json,
    channel_of,
)

MAX_SEGMENT_LENGTH = 80


def check_segment(actor: Actor, segment: str | None) -> None:
    """A staff member or a partner may set the order's segment; a customer may not."""
    if segment is None:
        return
    if actor.account_id is not None:
        raise ValidationFailed.single("segment", "customers do not choose their segment", CommonErrorCode.FORBIDDEN)
    if not segment.strip():
        raise ValidationFailed.single("segment", "must not be blank", CommonErrorCode.INVALID)
    if len(segment) > MAX_SEGMENT_LENGTH:
        raise ValidationFailed.single("segment", f"at most {MAX_SEGMENT_LENGTH} characters", CommonErrorCode.TOO_LONG)


def pricing_request(
    actor: Actor,
    data: OrderInput,
    lines: Sequence[ValidLine],
    *,
    channel: str,
    segment: str | None,
    on: date | None = None,
    authorised: bool = False,
) -> PricingRequest:
    return PricingRequest(
        authorised=authorised,
        account=data.customer_id,
        channel=channel,
        segment=segment,
        actor=actor,
        on=on or utcnow().date(),
        adjustments=data.price_adjustments,
        price_list=data.price_list,
        lines=tuple(
            LineToPrice(
                line_number=v.line_number,
                action=v.action,
                offering=v.offering,
                spec_key=v.spec.key,
                quantity=v.quantity,
                characteristics=v.characteristics,
                adjustments=v.price_adjustments,
                installed=(
                    InstalledProduct(
                        product_price=v.product.product_price,
                        recurring_price=v.product.recurring_price,
                        currency=v.product.currency,
                        start_date=v.product.start_date,
                        characteristics=v.product.characteristics,
                    )
                    if v.product is not None
                    else None
                ),
            )
            for v in lines
        ),
    )


@dataclass(frozen=True)
class SoldAs:
    """How a submitted order was priced: its audience and the day. A revision prices the order
    again as it was sold (change/revision.py), from its own, already authorised, adjustments and
    price list (the revision checks any new adjustment itself)."""

    channel: str
    segment: str | None
    on: date


def price_order(
    pricer: Pricer,
    tables: Tables,
    actor: Actor,
    order: Order,
    data: OrderInput,
    lines: Sequence[ValidLine],
    *,
    sold: SoldAs | None = None,
) -> PricedOrder:
    """Price the order (ValidationFailed when it cannot be) and store the result on it and its
    lines (``order.lines`` as built from ``lines``, in the same order), with the manual
    adjustments as given. The channel is the one the order was captured through; the segment is
    the input's, else the stored one; ``sold``: a revision's (:class:`SoldAs`)."""
    check_segment(actor, data.segment)
    if sold is not None:
        order.channel, order.segment = sold.channel, sold.segment
    if order.channel is None:
        order.channel = channel_of(actor)
    if data.segment is not None:
        order.segment = data.segment
    request = pricing_request(
        actor,
        data,
        lines,
        channel=order.channel,
        segment=order.segment,
        on=sold.on if sold is not None else None,
        authorised=sold is not None,
    )
    priced = pricer.price(request, tables)
    apply_prices(order, order.lines, priced)
    order.price_adjustments = adjustments_json(data.price_adjustments)
    for line, valid in zip(order.lines, lines, strict=True):
        line.price_adjustments = adjustments_json(valid.price_adjustments)
    return priced


def apply_prices(order: Order, lines: Sequence[OrderLine], priced: PricedOrder) -> None:
    order.price_list = priced.price_list
    order.currency = priced.currency
    order.total_prices = priced.total_prices
    order.one_time_total = money(priced.one_time_total)
    order.recurring_total = money(priced.recurring_total)
    order.manual_discount_percent = priced.manual_discount_percent
    order.discount_over_limit = priced.discount_over_limit
    for line, p in zip(lines, priced.lines, strict=True):
        line.prices = p.prices or None
        line.unit_one_time_price = money(p.unit_one_time_price)
        line.unit_recurring_price = money(p.unit_recurring_price)
