"""The running amount of each charge and the alterations applied to it: automatic adjustments
from the decision tables, then manual ones, with the manual-discount limit's bookkeeping (the
Pricer's steps 3 and 6; core/pricing/pricer.py's docstring is the whole sequence)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from om_graph.core.access.permissions import Permission
from om_graph.core.catalog.prices import PriceListDef
from om_graph.core.kernel.errors import FieldError
from om_graph.core.pricing.error_codes import PricingErrorCode
from om_graph.core.pricing.money import HUNDRED, ZERO, percent_of, round_money, text
from om_graph.core.pricing.request import (
    ADJUSTMENT_KINDS,
    CHARGE_TYPES,
    DISCOUNT,
    MAX_PERCENT_DIGITS,
    RECURRING,
    PriceAdjustment,
    PricingRequest,
    Tables,
)

# -- the running amount of one charge --------------------------------------------------------------


@dataclass
class Charge:
    """One itemTotalPrice (or orderTotalPrice) being computed: amounts in the list's basis."""

    price_type: str
    period: str | None
    name: str
    running: Decimal
    alterations: list[dict[str, Any]] = field(default_factory=list)
    # the other side of the basis for contributions that carry both (MACD deltas, order totals)
    other: Decimal | None = None
    manual_kept: Decimal = Decimal(1)  # what the manual adjustments so far leave of the amount (a factor)


@dataclass(frozen=True)
class AutoAdjustment:
    name: str
    kind: str
    charge_type: str
    percentage: Decimal | None
    amount: Decimal | None
    priority: int
    duration: int
    table: str
    order: int


class PricingContext:
    def __init__(
        self,
        request: PricingRequest,
        plist: PriceListDef,
        tables: Tables,
        *,
        adjustment_tables: Sequence[str],
        limit: Decimal,
    ):
        self.adjustment_tables = adjustment_tables
        self.request = request
        self.plist = plist
        self.tables = tables
        self.currency = plist.currency
        self.basis = "taxIncludedAmount" if plist.tax_included else "dutyFreeAmount"
        self.errors: list[FieldError] = []
        self.manual_percent = ZERO  # the largest manual reduction of a line's charge, in %
        self.order_manual_percent = ZERO  # the same for the order-level charges
        self.can_adjust = request.actor.can(Permission.PRICE_ADJUST)
        self.limit = limit

    @property
    def manual_discount(self) -> Decimal:
        """The most the manual adjustments take off any part of the order, in %: a line's own
        reduction compounded with the order-level one (what the role's limit is compared with)."""
        kept = (HUNDRED - self.manual_percent) * (HUNDRED - self.order_manual_percent) / HUNDRED
        return HUNDRED - kept

    def money(self, amount: Decimal) -> dict[str, str]:
        return {"unit": self.currency, "value": text(amount)}

    def round(self, amount: Decimal) -> Decimal:
        return round_money(amount, self.currency)

    def other_side(self, price_type: str, amount: Decimal) -> Decimal:
        """The duty-free amount of a tax-included one, or the reverse, rounded."""
        rate = self.plist.rate_for(price_type)
        if not rate:
            return amount
        factor = 1 + rate / HUNDRED
        return self.round(amount / factor if self.plist.tax_included else amount * factor)

    def price(self, price_type: str, amount: Decimal, other: Decimal | None = None) -> dict[str, Any]:
        other = self.other_side(price_type, amount) if other is None else other
        duty_free, tax_included = (other, amount) if self.plist.tax_included else (amount, other)
        return {
            "dutyFreeAmount": self.money(duty_free),
            "taxIncludedAmount": self.money(tax_included),
            "taxRate": text(self.plist.rate_for(price_type)),
        }

    def base_inputs(self) -> dict[str, Any]:
        r = self.request
        return {
            "segment": r.segment,
            "account": r.account,
            "channel": r.channel,
            "priceList": self.plist.key,
            "currency": self.currency,
            "date": r.on,
        }

    # -- automatic adjustments ------------------------------------------------------------------

    def automatic(self, inputs: Mapping[str, Any]) -> list[AutoAdjustment]:
        found: list[AutoAdjustment] = []
        for table in self.adjustment_tables:
            for row in self.tables.evaluate(table, inputs):
                percentage, amount = table_decimal(row.get("percentage")), table_decimal(row.get("amount"))
                kind, charge_type = row.get("kind") or DISCOUNT, row.get("chargeType") or RECURRING
                if (percentage is None) == (amount is None) or kind not in ADJUSTMENT_KINDS or charge_type not in CHARGE_TYPES:
                    continue  # a row that says nothing usable (the table's author sees it when testing it)
                if (percentage is not None and percentage < 0) or (amount is not None and amount < 0):
                    continue
                found.append(
                    AutoAdjustment(
                        name=str(row.get("name") or "Adjustment"),
                        kind=kind,
                        charge_type=charge_type,
                        percentage=percentage,
                        amount=amount,
                        priority=table_whole(row.get("priority")),
                        duration=max(0, table_whole(row.get("applicationDuration"))),
                        table=table,
                        order=len(found),
                    )
                )
        return sorted(found, key=lambda a: (a.priority, a.order))

    # -- applying alterations -------------------------------------------------------------------

    def alter(
        self,
        charge: Charge,
        *,
        name: str,
        kind: str,
        percentage: Decimal | None,
        amount: Decimal | None,
        duration: int,
        source: dict[str, Any],
        manual_path: str | None,
    ) -> None:
        before = charge.running
        value = self.round(percent_of(before, percentage) if percentage is not None else amount or ZERO)
        delta = -value if kind == DISCOUNT else value
        if before + delta < 0:
            if manual_path is not None:
                self.errors.append(
                    FieldError(manual_path, "this discount would make the price negative", PricingErrorCode.NEGATIVE_PRICE)
                )
                return
            delta = -before  # an automatic discount takes the price to zero, not below
        if manual_path is not None and before > 0:
            # The limit is on what the manual adjustments take off together (ten 10 % discounts
            # are 65 %): per charge, the factor they leave, exact for percentages (a rounded
            # amount would make a 10 % discount 10.01 %).
            sign = -1 if kind == DISCOUNT else 1
            step = sign * percentage / HUNDRED if percentage is not None else delta / before
            charge.manual_kept *= 1 + step
            share = max(ZERO, (1 - charge.manual_kept) * HUNDRED).quantize(MAX_PERCENT_DIGITS)
            if manual_path.startswith("lines."):
                self.manual_percent = max(self.manual_percent, share)
            else:
                self.order_manual_percent = max(self.order_manual_percent, share)
        alteration: dict[str, Any] = {
            "name": name,
            "priceType": kind,
            "priority": len(charge.alterations) + 1,
            "price": {self.basis: self.money(delta)},
            "source": source,
        }
        if percentage is not None:
            alteration["price"]["percentage"] = text(percentage)
        if charge.price_type == RECURRING:
            alteration["recurringChargePeriod"] = charge.period
            if duration > 0:
                alteration["applicationDuration"] = duration
        charge.alterations.append(alteration)
        if not (charge.price_type == RECURRING and duration > 0):
            charge.running = before + delta
            if charge.other is not None:
                charge.other += self.other_side(charge.price_type, delta)

    def apply_all(
        self, charges: dict[str, Charge], autos: list[AutoAdjustment], manual: Sequence[PriceAdjustment], path: str
    ) -> None:
        for auto in autos:
            charge = charge_for(charges, auto.charge_type)
            if charge is None or charge.running <= 0:
                continue
            self.alter(
                charge,
                name=auto.name,
                kind=auto.kind,
                percentage=auto.percentage,
                amount=auto.amount,
                duration=auto.duration,
                source={"kind": "rule", "table": auto.table},
                manual_path=None,
            )
        for index, adj in enumerate(manual):
            at = f"{path}.{index}"
            charge = charge_for(charges, adj.charge_type)
            if charge is None:
                self.errors.append(
                    FieldError(
                        f"{at}.chargeType",
                        f"there is no {adj.charge_type} charge to adjust",
                        PricingErrorCode.UNKNOWN_CHARGE_TYPE,
                    )
                )
                continue
            self.alter(
                charge,
                name=f"Manual {adj.kind}",
                kind=adj.kind,
                percentage=adj.percentage,
                amount=adj.amount,
                duration=0,
                source={"kind": "manual", "actor": self.request.actor.label, "reason": adj.reason},
                manual_path=at,
            )


MAX_TABLE_AMOUNT = Decimal("1E12")


def table_decimal(value: Any) -> Decimal | None:
    """A table's output as a finite Decimal; None for a missing or unusable one (a table an admin
    retyped: the row is then ignored, or the matrix has no price, never a crash)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    # Finite and within what an amount column holds (a typo of 1E+30 in a table is unusable).
    return number if number.is_finite() and abs(number) < MAX_TABLE_AMOUNT else None


def table_whole(value: Any) -> int:
    """A table's priority or duration output as an int (0 when missing or unusable)."""
    number = table_decimal(value)
    return int(number) if number is not None and number == number.to_integral_value() else 0


def charge_key(price_type: str, period: str | None) -> str:
    """A line's (or the order's) charges are summed per price type and recurring period."""
    return price_type if period in (None, "month") else f"{price_type}/{period}"


def charge_for(charges: Mapping[str, Charge], price_type: str) -> Charge | None:
    """The charge an adjustment of ``price_type`` applies to: the monthly one, else the first."""
    return charges.get(price_type) or next((c for c in charges.values() if c.price_type == price_type), None)
