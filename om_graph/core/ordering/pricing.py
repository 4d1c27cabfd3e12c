"""Pricing an order being captured: the Pricer's request built from validated lines, and its
answer applied to the order and its lines (orderCreate, orderUpdate; orderPreview reuses
:func:`pricing_request`). Submit never calls this: a submitted order's prices are frozen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from om_graph.core.access.actor import Actor
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.models import money, utcnow
from om_graph.core.ordering.commands import OrderInput
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.validation import ValidLine
from om_graph.core.pricing.pricer import Pricer
from om_graph.core.pricing.request import InstalledProduct, LineToPrice, PricedOrder, PricingRequest, Tables, channel_of

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
    actor: Actor, data: OrderInput, lines: Sequence[ValidLine], *, channel: str, segment: str | None, on: date | None = None
) -> PricingRequest:
    return PricingRequest(
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


def price_order(
    pricer: Pricer, tables: Tables, actor: Actor, order: Order, data: OrderInput, lines: Sequence[ValidLine]
) -> PricedOrder:
    """Price the order (ValidationFailed when it cannot be) and store the result on it and its
    lines (``order.lines`` as built from ``lines``, in the same order). The channel is the one the
    order was captured through; the segment is the input's, else the stored one."""
    check_segment(actor, data.segment)
    if order.channel is None:
        order.channel = channel_of(actor)
    if data.segment is not None:
        order.segment = data.segment
    priced = pricer.price(pricing_request(actor, data, lines, channel=order.channel, segment=order.segment), tables)
    apply_prices(order, order.lines, priced)
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
