"""Price definitions as packs ship them (TMF620 ProductOfferingPrice-shaped, immutable).

A pack lists its :class:`PriceListDef` in ``CatalogContribution.price_lists``. A price list has a
currency, validity dates, an audience (segments, accounts, channels: empty means any), its tax
rate(s) and whether its amounts include tax, and one :class:`OfferingPriceDef` per charge of each
offering it prices: one-time, recurring (period and length) or usage (a rate per unit of measure,
shown for reference and never totalled). A charge's amount is fixed, tiered by quantity (volume
pricing: every unit at the price of the tier the quantity reaches), or read from a pricing matrix:
the name of a decision table whose inputs are the line's characteristic values and terms
(``contractTermMonths``, ``quantity``, ``action``, ``offering``) and whose output column ``amount``
is the unit price.

The simple case stays simple: an :class:`~om_graph.core.catalog.definitions.OfferingDef`'s
``one_time_price`` / ``recurring_price`` / ``currency`` are its entries in the implicit list price
list of that currency (``list.<CURRENCY>``, any audience, no tax), which the Pricer uses when no
explicit price list of the order's audience prices the order (core/pricing/catalog.py).

Automatic adjustments (promotions, rules) are decision tables too: ``pricing.adjustments`` (the
default one, empty) plus the tables a pack names in ``CatalogContribution.adjustment_tables``
(core/pricing/tables.py documents their columns).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from om_graph.core.catalog.definitions import OfferingDef

PriceType = Literal["oneTime", "recurring", "usage"]
PRICE_TYPES: tuple[PriceType, ...] = ("oneTime", "recurring", "usage")
ChargePeriod = Literal["day", "week", "month", "year"]
CHARGE_PERIODS: tuple[ChargePeriod, ...] = ("day", "week", "month", "year")
AUDIENCE_CHANNELS = ("portal", "agent", "partner")


@dataclass(frozen=True)
class PriceTier:
    """From ``min_quantity`` units on, every unit costs ``amount`` (volume pricing)."""

    min_quantity: int
    amount: Decimal


@dataclass(frozen=True)
class EarlyTerminationDef:
    """What a disconnect costs before the contract term ends (from the product's start plus the
    offering's ``contract_term_months``, or the product's ``contractTermMonths`` characteristic):
    a fixed ``fee``, and/or ``remaining_percentage`` % of the recurring price for each remaining
    period (whole months, rounded up)."""

    fee: Decimal = Decimal("0")
    remaining_percentage: Decimal = Decimal("0")
    name: str = "Early termination charge"


@dataclass(frozen=True)
class OfferingPriceDef:
    """One charge of an offering in a price list (TMF620 ProductOfferingPrice). Exactly one of
    ``amount``, ``tiers`` or ``matrix`` gives the unit price."""

    offering: str
    price_type: PriceType
    amount: Decimal | None = None
    tiers: tuple[PriceTier, ...] = ()
    matrix: str | None = None  # a decision table: inputs characteristic values and terms, output "amount"
    period: ChargePeriod = "month"  # recurring only
    period_length: int = 1
    unit_of_measure: str | None = None  # usage only ("GB", "minute")
    name: str = ""
    early_termination: EarlyTerminationDef | None = None  # recurring only
    # Per-unit pricing by a characteristic (e.g. "seats"): the unit price is per unit of that
    # characteristic's value (times the line's quantity), and tiers are chosen by that count.
    quantity_from: str | None = None

    @property
    def charge_name(self) -> str:
        return (
            self.name or {"oneTime": "One-time charge", "recurring": "Recurring charge", "usage": "Usage rate"}[self.price_type]
        )


@dataclass(frozen=True)
class PriceListDef:
    key: str
    name: str
    currency: str
    prices: tuple[OfferingPriceDef, ...] = ()
    valid_from: date | None = None
    valid_to: date | None = None  # inclusive
    segments: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()  # portal (customers), agent (staff), partner (service accounts)
    tax_rate: Decimal = Decimal("0")  # percent, e.g. Decimal("19")
    tax_rates: dict[str, Decimal] = field(default_factory=dict)  # per price type, over tax_rate
    tax_included: bool = False  # amounts are tax-included (consumer lists) or duty-free (business)
    description: str = ""

    def rate_for(self, price_type: str) -> Decimal:
        return self.tax_rates.get(price_type, self.tax_rate)

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    def audience_matches(self, *, segment: str | None, account: str, channel: str) -> bool:
        return (
            (not self.segments or segment in self.segments)
            and (not self.accounts or account in self.accounts)
            and (not self.channels or channel in self.channels)
        )

    @property
    def specificity(self) -> int:
        """How narrowly the list is aimed: an account list beats a segment list beats a channel list."""
        return 4 * bool(self.accounts) + 2 * bool(self.segments) + bool(self.channels)


def offering_prices(offering: OfferingDef) -> tuple[OfferingPriceDef, ...]:
    """An offering's own one_time/recurring prices as price-list charges (the simple case)."""
    return (
        OfferingPriceDef(offering.key, "oneTime", amount=offering.one_time_price),
        OfferingPriceDef(offering.key, "recurring", amount=offering.recurring_price, period=_period(offering.recurring_period)),
    )


def implicit_price_lists(offerings: Iterable[OfferingDef]) -> list[PriceListDef]:
    """The list price list of each currency: the offerings' own one_time/recurring prices."""
    by_currency: dict[str, list[OfferingPriceDef]] = {}
    for offering in offerings:
        by_currency.setdefault(offering.currency, []).extend(offering_prices(offering))
    return [
        PriceListDef(
            key=f"{IMPLICIT_LIST_PREFIX}{currency}",
            name=f"List prices ({currency})",
            currency=currency,
            prices=tuple(charges),
            description="The offerings' own prices, for any audience, when no price list of the order's prices it.",
        )
        for currency, charges in sorted(by_currency.items())
    ]


IMPLICIT_LIST_PREFIX = "list."


def _period(value: str) -> ChargePeriod:
    for period in CHARGE_PERIODS:
        if period == value:
            return period
    return "month"


def price_list_problems(
    lists: Sequence[PriceListDef],
    offerings: Mapping[str, OfferingDef],
    tables: Set[str] | None = None,
    known_currencies: Set[str] | None = None,
    *,
    shipped: bool = True,
) -> list[str]:
    """What is wrong with the packs' price lists: unknown currency, offering or matrix table (when
    ``tables`` is given), a charge with no or two ways to its amount, bad tiers, periods, dates."""
    problems: list[str] = []
    seen: set[str] = set()
    for plist in lists:
        where = f"price list {plist.key!r}"
        if plist.key in seen or (shipped and plist.key.startswith(IMPLICIT_LIST_PREFIX)):
            problems.append(f"{where}: duplicate or reserved key")
        seen.add(plist.key)
        if known_currencies is not None and plist.currency not in known_currencies:
            problems.append(f"{where}: unknown currency {plist.currency!r} (ISO 4217, core/pricing/money.py)")
        if plist.valid_from and plist.valid_to and plist.valid_to < plist.valid_from:
            problems.append(f"{where}: valid_to is before valid_from")
        for rate in (plist.tax_rate, *plist.tax_rates.values()):
            if not Decimal(0) <= rate < Decimal(100):
                problems.append(f"{where}: tax rate {rate} is not a percentage in 0..100")
        for kind in plist.tax_rates:
            if kind not in PRICE_TYPES:
                problems.append(f"{where}: tax rate for unknown price type {kind!r}")
        problems += [f"{where}: unknown channel {c!r}" for c in plist.channels if c not in AUDIENCE_CHANNELS]
        charges: set[tuple[str, str, str]] = set()
        for price in plist.prices:
            at = f"{where}: {price.offering!r} {price.price_type}"
            if price.offering not in offerings:
                problems.append(f"{at}: unknown offering")
            if price.price_type not in PRICE_TYPES:
                problems.append(f"{at}: unknown price type")
            ways = (price.amount is not None) + bool(price.tiers) + (price.matrix is not None)
            if ways != 1:
                problems.append(f"{at}: give exactly one of amount, tiers or matrix")
            if price.amount is not None and price.amount < 0:
                problems.append(f"{at}: negative amount")
            if price.tiers:
                mins = [t.min_quantity for t in price.tiers]
                if mins[0] != 1 or mins != sorted(set(mins)) or any(t.amount < 0 for t in price.tiers):
                    problems.append(f"{at}: tiers must start at quantity 1, rise, and have non-negative amounts")
            if price.matrix is not None and tables is not None and price.matrix not in tables:
                problems.append(f"{at}: unknown pricing matrix (decision table) {price.matrix!r}")
            if price.period not in CHARGE_PERIODS or price.period_length < 1:
                problems.append(f"{at}: bad recurring period {price.period!r} x {price.period_length}")
            if price.price_type == "usage" and not price.unit_of_measure:
                problems.append(f"{at}: a usage rate needs its unit of measure")
            if price.early_termination is not None and price.price_type != "recurring":
                problems.append(f"{at}: an early-termination charge belongs to a recurring price")
            if price.early_termination is not None and (
                price.early_termination.fee < 0 or price.early_termination.remaining_percentage < 0
            ):
                problems.append(f"{at}: negative early-termination charge")
            key = (price.offering, price.price_type, price.name)
            if key in charges:
                problems.append(f"{at}: priced twice (give the charges different names)")
            charges.add(key)
    return problems
