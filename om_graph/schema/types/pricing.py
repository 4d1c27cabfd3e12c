"""Pricing output types (TMF622 OrderPrice / PriceAlteration / Price, TMF620 ProductOfferingPrice),
mapped from the JSON the Pricer stores (core/pricing/pricer.py) and from the price definitions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import strawberry

from om_graph.core.catalog.prices import OfferingPriceDef, PriceListDef
from om_graph.schema.types.common import Money


def _money(value: dict[str, Any] | None) -> Money | None:
    if not value:
        return None
    return Money(amount=Decimal(value["value"]), currency=value["unit"])


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


@strawberry.type(description="TMF622 Price: an amount without and with tax (either may be absent on an alteration).")
class Price:
    duty_free_amount: Money | None
    tax_included_amount: Money | None
    tax_rate: Decimal | None = strawberry.field(description="Percent.")
    percentage: Decimal | None = strawberry.field(description="The percentage an alteration applied, when it was one.")

    @classmethod
    def from_json(cls, p: dict[str, Any]) -> Price:
        return cls(
            duty_free_amount=_money(p.get("dutyFreeAmount")),
            tax_included_amount=_money(p.get("taxIncludedAmount")),
            tax_rate=_decimal(p.get("taxRate")),
            percentage=_decimal(p.get("percentage")),
        )


@strawberry.type(description="Where a price alteration came from: a decision-table rule (promotion) or an agent.")
class PriceAlterationSource:
    kind: str = strawberry.field(description="rule or manual.")
    table: str | None = strawberry.field(description="The decision table whose rule gave it (rule).")
    actor: str | None = strawberry.field(description="Who gave it (manual).")
    reason: str | None = strawberry.field(description="Why (manual).")

    @classmethod
    def from_json(cls, s: dict[str, Any]) -> PriceAlterationSource:
        return cls(kind=s.get("kind", "rule"), table=s.get("table"), actor=s.get("actor"), reason=s.get("reason"))


@strawberry.type(description="TMF622 PriceAlteration: a discount (negative amount) or surcharge, in application order.")
class PriceAlteration:
    name: str
    price_type: str = strawberry.field(description="discount or surcharge.")
    priority: int = strawberry.field(description="Application order within its price (1 first).")
    application_duration: int | None = strawberry.field(
        description="Recurring periods it lasts (e.g. 2 months free); null: for good, and included in the price."
    )
    recurring_charge_period: str | None
    price: Price
    source: PriceAlterationSource

    @classmethod
    def from_json(cls, a: dict[str, Any]) -> PriceAlteration:
        return cls(
            name=a["name"],
            price_type=a["priceType"],
            priority=a["priority"],
            application_duration=a.get("applicationDuration"),
            recurring_charge_period=a.get("recurringChargePeriod"),
            price=Price.from_json(a["price"]),
            source=PriceAlterationSource.from_json(a.get("source", {})),
        )


@strawberry.type(description="The price-list charge a price comes from (TMF620 ProductOfferingPrice reference).")
class ProductOfferingPriceRef:
    id: str
    name: str
    matrix: str | None = strawberry.field(description="The pricing matrix (decision table) that gave the amount.")


@strawberry.type(description="TMF622 OrderPrice: one charge of a line (per unit or total) or of the order.")
class OrderPrice:
    name: str
    price_type: str = strawberry.field(description="oneTime, recurring or usage (usage: a rate, for reference).")
    recurring_charge_period: str | None
    recurring_charge_period_length: int | None
    unit_of_measure: str | None
    price: Price
    price_alteration: list[PriceAlteration]
    product_offering_price: ProductOfferingPriceRef | None

    @classmethod
    def from_json(cls, p: dict[str, Any]) -> OrderPrice:
        ref = p.get("productOfferingPrice")
        return cls(
            name=p.get("name", ""),
            price_type=p["priceType"],
            recurring_charge_period=p.get("recurringChargePeriod"),
            recurring_charge_period_length=p.get("recurringChargePeriodLength"),
            unit_of_measure=p.get("unitOfMeasure"),
            price=Price.from_json(p["price"]),
            price_alteration=[
                PriceAlteration.from_json(a) for a in p.get("priceAlteration", p.get("productPriceAlteration", ()))
            ],
            product_offering_price=ProductOfferingPriceRef(
                id=ref["id"], name=ref.get("name") or p.get("name", ""), matrix=ref.get("matrix")
            )
            if ref
            else None,
        )


def order_prices(values: list[dict[str, Any]] | None) -> list[OrderPrice]:
    return [OrderPrice.from_json(p) for p in values or ()]


@strawberry.type(description="MACD: what a modify or delete line changes in the product's recurring price.")
class PriceDelta:
    price_type: str
    recurring_charge_period: str | None
    current_price: Price = strawberry.field(description="The product's recurring price now.")
    new_price: Price = strawberry.field(description="After the line (zero for a delete).")
    delta_price: Price = strawberry.field(description="new - current.")
    remaining_term_months: int | None = strawberry.field(description="Delete: months left in the contract term.")
    early_termination_charge: Price | None = strawberry.field(description="Delete within the term, when the price says so.")

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> PriceDelta | None:
        if not d:
            return None
        etc = d.get("earlyTerminationCharge")
        return cls(
            price_type=d["priceType"],
            recurring_charge_period=d.get("recurringChargePeriod"),
            current_price=Price.from_json(d["currentPrice"]),
            new_price=Price.from_json(d["newPrice"]),
            delta_price=Price.from_json(d["deltaPrice"]),
            remaining_term_months=d.get("remainingTermMonths"),
            early_termination_charge=Price.from_json(etc) if etc else None,
        )


@strawberry.type(description="A volume tier: from minQuantity units on, every unit costs amount.")
class PriceTier:
    min_quantity: int
    amount: Money


@strawberry.type(description="TMF620 ProductOfferingPrice: one charge of an offering in a price list.")
class ProductOfferingPrice:
    price_list: str
    offering_key: str = strawberry.field(description="The offering this charge prices (ProductOffering.key).")
    name: str
    price_type: str = strawberry.field(description="oneTime, recurring or usage.")
    recurring_charge_period: str | None
    recurring_charge_period_length: int | None
    unit_of_measure: str | None
    amount: Money | None = strawberry.field(description="A fixed unit price (null for tiers and matrices).")
    tiers: list[PriceTier]
    matrix: str | None = strawberry.field(description="The pricing matrix (decision table) giving the unit price.")

    @classmethod
    def from_definition(cls, plist: PriceListDef, p: OfferingPriceDef) -> ProductOfferingPrice:
        recurring = p.price_type == "recurring"
        return cls(
            price_list=plist.key,
            offering_key=p.offering,
            name=p.charge_name,
            price_type=p.price_type,
            recurring_charge_period=p.period if recurring else None,
            recurring_charge_period_length=p.period_length if recurring else None,
            unit_of_measure=p.unit_of_measure,
            amount=Money(amount=p.amount, currency=plist.currency) if p.amount is not None else None,
            tiers=[
                PriceTier(min_quantity=t.min_quantity, amount=Money(amount=t.amount, currency=plist.currency)) for t in p.tiers
            ],
            matrix=p.matrix,
        )


@strawberry.type(description="A price list: currency, validity, audience, tax, and its offering prices.")
class PriceList:
    key: str
    name: str
    currency: str
    valid_from: date | None
    valid_to: date | None
    segments: list[str]
    accounts: list[str]
    channels: list[str] = strawberry.field(description="portal (customers), agent (staff), partner (service accounts).")
    tax_rate: Decimal = strawberry.field(description="Percent (per price type: taxRates).")
    tax_included: bool = strawberry.field(description="True: amounts include tax.")
    description: str
    product_offering_price: list[ProductOfferingPrice]

    @classmethod
    def from_definition(cls, plist: PriceListDef) -> PriceList:
        return cls(
            key=plist.key,
            name=plist.name,
            currency=plist.currency,
            valid_from=plist.valid_from,
            valid_to=plist.valid_to,
            segments=list(plist.segments),
            accounts=list(plist.accounts),
            channels=list(plist.channels),
            tax_rate=plist.tax_rate,
            tax_included=plist.tax_included,
            description=plist.description,
            product_offering_price=[ProductOfferingPrice.from_definition(plist, p) for p in plist.prices],
        )


# -- rows priced before migration 0012 (no TMF622 JSON): their unit prices and totals, untaxed -------


def _legacy(price_type: str, amount: Decimal, currency: str) -> OrderPrice:
    money = Money(amount=amount, currency=currency)
    return OrderPrice(
        name="One-time charge" if price_type == "oneTime" else "Recurring charge",
        price_type=price_type,
        recurring_charge_period="month" if price_type == "recurring" else None,
        recurring_charge_period_length=None,
        unit_of_measure=None,
        price=Price(duty_free_amount=money, tax_included_amount=money, tax_rate=Decimal("0"), percentage=None),
        price_alteration=[],
        product_offering_price=None,
    )


def line_prices(row: Any, currency: str) -> tuple[list[OrderPrice], list[OrderPrice], PriceDelta | None]:
    """A line's itemPrice, itemTotalPrice and priceDelta: as the Pricer stored them, or, for a line
    captured before pricing existed, from its unit prices (one-time and recurring, untaxed)."""
    prices = row.prices
    if prices is not None:
        return (
            order_prices(prices.get("itemPrice")),
            order_prices(prices.get("itemTotalPrice")),
            PriceDelta.from_json(prices.get("priceDelta")),
        )
    units = [("oneTime", row.unit_one_time_price), ("recurring", row.unit_recurring_price)]
    return (
        [_legacy(t, a, currency) for t, a in units if a],
        [_legacy(t, a * row.quantity, currency) for t, a in units if a],
        None,
    )


def total_prices(row: Any) -> list[OrderPrice]:
    """An order's orderTotalPrice: stored, or from its totals for an order from before pricing."""
    if row.total_prices is not None:
        return order_prices(row.total_prices)
    totals = [("oneTime", row.one_time_total), ("recurring", row.recurring_total)]
    return [_legacy(t, a, row.currency) for t, a in totals if a]
