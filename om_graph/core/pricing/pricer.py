"""The Pricer: an order's prices, alterations and totals in TMF622's shape (pure: it reads only
what it is given and the decision tables it is handed, and writes nothing).

The order service calls it on ``orderCreate`` and on every draft edit; ``orderSubmit`` does not,
so a submitted order's prices are frozen. ``orderPreview`` calls the same method.

How an order is priced, in this order:

1. **The price list.** The one an agent chose (``PricingRequest.price_list``, price:adjust; any
   list valid on the pricing date), else the one ``pricing.priceList`` names (inputs segment,
   account, channel, currency, date; it must be valid on that date). Otherwise the Pricer takes,
   among the price lists valid on that date whose audience (segments, accounts, channels; empty =
   any) matches, the most specific one (account > segment > channel, then by key; the implicit
   ``list.<CURRENCY>`` lists last) that prices every line and is in the currency of the products
   the order changes.
2. **Each line's charges** (``itemPrice``): every charge the list has for the offering, its unit
   price fixed, by volume tier, or from its pricing matrix (a decision table); one-time charges on
   add lines only; usage rates are listed for reference and never totalled. A line's charges of
   one price type and period are summed into one ``itemTotalPrice``: round(unit x quantity), in
   the list's basis (tax-included or duty-free amounts).
3. **Line alterations**, per itemTotalPrice: automatic ones (``pricing.adjustments`` and the
   packs' adjustment tables, level ``line``) by priority (lower first; ties in table and rule
   order), then manual ones in the order given. A percentage applies to the running amount; each
   alteration's amount is rounded to the currency's minor unit; a recurring alteration with an
   ``applicationDuration`` (e.g. 2 months free) is listed with its duration and amount but does not
   change the recurring amount (that is the price after the duration). An automatic discount is
   capped at the running amount; a manual one that would make it negative is refused.
4. **Tax** per itemTotalPrice from the list's rate for its price type: the other side of the
   basis amount, rounded once.
5. **MACD**: a modify line is priced like an add line with its new characteristics and shows its
   ``priceDelta`` against the product's current price (TMF637 productPrice, stored at
   settlement); a delete line shows the early-termination charge its price says (remaining months
   of the term x recurring x percentage, and/or a fee) and the recurring price that ends; a
   suspend line shows its offering's ``suspension_fee`` (if any) as a one-time itemTotalPrice
   "Suspension fee" (no alterations, no delta); a resume line has no charge.
6. **Order totals** (``orderTotalPrice``) per price type and period (one currency per order; an
   adjustment of a charge type applies to its monthly, else first, charge): the
   sum of the lines' contributions (add: their itemTotalPrice; modify: their one-time charges and
   recurring delta; delete: the early-termination charge and minus the recurring price that ends;
   suspend: its suspension fee),
   then order-level alterations (automatic, then manual), as in 3, then tax as in 4.

Amounts are Decimal throughout and stored as strings; rounding is core/pricing/money.py's
(ISO 4217 minor units, half up). Alteration amounts are signed (a discount is negative).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from om_graph.core.access.permissions import Permission
from om_graph.core.catalog.definitions import OfferingDef
from om_graph.core.catalog.prices import IMPLICIT_LIST_PREFIX, OfferingPriceDef, PriceListDef, price_list_problems
from om_graph.core.catalog.registry import Registry
from om_graph.core.inventory.settlement import add_months
from om_graph.core.kernel.errors import FieldError, PluginConfigurationError, ValidationFailed
from om_graph.core.pricing.alterations import Charge, PricingContext, charge_for, charge_key, table_decimal
from om_graph.core.pricing.error_codes import PricingErrorCode
from om_graph.core.pricing.money import MINOR_UNITS, ZERO, percent_of, text
from om_graph.core.pricing.request import (
    MAX_PERCENT_DIGITS,
    ONE_TIME,
    RECURRING,
    USAGE,
    InstalledProduct,
    LineToPrice,
    PricedLine,
    PricedOrder,
    PricingRequest,
    Tables,
    adjustment_problems,
)
from om_graph.core.pricing.settings import PricingSettings
from om_graph.core.pricing.tables import ADJUSTMENTS_TABLE, PRICE_LIST_TABLE, PRICING_TABLES

# Suspend and resume lines change a product's status, not its price: no delta; a suspend line
# carries its offering's ``suspension_fee`` as a one-time charge. A delete line has no new price
# either (its delta and early-termination charge are the MACD's).
PAUSE_ACTIONS = frozenset({"suspend", "resume"})
SUSPENSION_FEE = "Suspension fee"
UNPRICED_ACTIONS = frozenset({"delete", *PAUSE_ACTIONS})


class Pricer:
    """Prices orders against the registry's price lists and the decision tables it is given."""

    def __init__(
        self,
        registry: Registry,
        settings: PricingSettings | None = None,
        *,
        table_names: set[str] | None = None,
    ):
        self.registry = registry
        self.settings = settings or PricingSettings()
        self.lists = registry.price_lists
        self.adjustment_tables = (ADJUSTMENTS_TABLE, *(t for c in registry.catalogs for t in c.adjustment_tables))
        self._charges: dict[str, dict[str, list[OfferingPriceDef]]] = {}
        for plist in self.lists.values():
            by_offering: dict[str, list[OfferingPriceDef]] = {}
            for price in plist.prices:
                by_offering.setdefault(price.offering, []).append(price)
            self._charges[plist.key] = by_offering
        explicit = sorted(
            (p for p in self.lists.values() if not p.key.startswith(IMPLICIT_LIST_PREFIX)), key=lambda p: (-p.specificity, p.key)
        )
        implicit = sorted((p for p in self.lists.values() if p.key.startswith(IMPLICIT_LIST_PREFIX)), key=lambda p: p.key)
        self._candidates = [*explicit, *implicit]
        known = None if table_names is None else {*table_names, *(t.name for t in PRICING_TABLES)}
        problems = price_list_problems(list(self.lists.values()), registry.offerings, known, set(MINOR_UNITS), shipped=False)
        for plist in self.lists.values():
            for price in plist.prices:
                offering = registry.offerings.get(price.offering)
                if price.quantity_from is None or offering is None:
                    continue
                spec = registry.specifications[offering.product_spec]
                if not any(c.name == price.quantity_from and c.value_type == "integer" for c in spec.characteristics):
                    problems.append(
                        f"price list {plist.key!r}: {price.offering!r}: quantity_from {price.quantity_from!r} is not an integer characteristic"
                    )
        if known is not None:
            problems += [f"adjustment table {t!r} is not a decision table" for t in self.adjustment_tables if t not in known]
        if problems:
            raise PluginConfigurationError("price lists do not fit the catalog:\n  " + "\n  ".join(problems))

    # -- the price list -------------------------------------------------------------------------

    def charges_of(self, price_list: str, offering: str) -> list[OfferingPriceDef]:
        return self._charges.get(price_list, {}).get(offering, [])

    def _prices_all(self, plist: PriceListDef, request: PricingRequest) -> bool:
        priced = self._charges[plist.key]
        for line in request.lines:
            if line.offering.key not in priced:  # a delete line too: its charges say what leaving costs
                return False
            if line.installed is not None and line.installed.currency != plist.currency:
                return False
        return True

    def choose_list(self, request: PricingRequest, tables: Tables) -> PriceListDef:
        if request.price_list is not None:  # an agent's choice: any list valid today (audience aside)
            chosen_list = self.lists.get(request.price_list)
            if chosen_list is None or not chosen_list.valid_on(request.on):
                raise ValidationFailed.single(
                    "priceList", f"no price list {request.price_list[:80]!r} is valid today", PricingErrorCode.NO_PRICE_LIST
                )
            return chosen_list
        row = tables.first(
            PRICE_LIST_TABLE,
            {
                "segment": request.segment,
                "account": request.account,
                "channel": request.channel,
                "currency": None,
                "date": request.on,
            },
        )
        chosen = row.get("priceList") if row else None
        if chosen:
            plist = self.lists.get(str(chosen))
            if plist is None or not plist.valid_on(request.on):
                raise ValidationFailed.single(
                    "priceList",
                    f"the price-list rule names {chosen!r}, which is unknown or not valid today",
                    PricingErrorCode.NO_PRICE_LIST,
                )
            return plist
        for plist in self._candidates:
            if (
                plist.valid_on(request.on)
                and plist.audience_matches(segment=request.segment, account=request.account, channel=request.channel)
                and self._prices_all(plist, request)
            ):
                return plist
        currencies = {line.offering.currency for line in request.lines if line.action not in UNPRICED_ACTIONS}
        if len(currencies) > 1:
            raise ValidationFailed.single(
                "lines", "all lines of an order must be priced in one currency", PricingErrorCode.CURRENCY_MISMATCH
            )
        raise ValidationFailed.single(
            "lines", "no valid price list prices every line of this order", PricingErrorCode.NO_PRICE_LIST
        )

    # -- the order ------------------------------------------------------------------------------

    def price(self, request: PricingRequest, tables: Tables) -> PricedOrder:
        """The order's prices, or ValidationFailed naming every problem (nothing to store)."""
        errors = adjustment_problems(request.adjustments, "priceAdjustments")
        for index, line in enumerate(request.lines):
            errors += adjustment_problems(line.adjustments, f"lines.{index}.priceAdjustments")
        wants_adjusting = bool(request.adjustments) or any(line.adjustments for line in request.lines)
        if wants_adjusting and not request.authorised and not request.actor.can(Permission.PRICE_ADJUST):
            errors.append(
                FieldError(
                    "priceAdjustments", f"{request.actor.label} may not adjust prices", PricingErrorCode.ADJUSTMENT_NOT_ALLOWED
                )
            )
        if request.price_list is not None and not request.authorised and not request.actor.can(Permission.PRICE_ADJUST):
            errors.append(
                FieldError(
                    "priceList", f"{request.actor.label} may not choose a price list", PricingErrorCode.ADJUSTMENT_NOT_ALLOWED
                )
            )
        if errors:
            raise ValidationFailed(errors)
        plist = self.choose_list(request, tables)
        ctx = PricingContext(
            request, plist, tables, adjustment_tables=self.adjustment_tables, limit=self.settings.limit_for(request.actor.roles)
        )
        priced = [self._line(ctx, index, line) for index, line in enumerate(request.lines)]
        totals = self._totals(ctx, [c for _, c in priced])
        if ctx.errors:
            raise ValidationFailed(ctx.errors)
        total_prices = [self._total_json(ctx, charge) for charge in totals.values()]

        def duty_free(charge: Charge | None) -> Decimal:
            if charge is None:
                return ZERO
            return charge.running if not plist.tax_included else charge.other or ZERO

        # the order's totals columns: duty-free, the monthly (else first) recurring charges
        one_time, recurring = duty_free(charge_for(totals, ONE_TIME)), duty_free(charge_for(totals, RECURRING))
        return PricedOrder(
            price_list=plist.key,
            currency=plist.currency,
            lines=[line for line, _ in priced],
            total_prices=total_prices,
            one_time_total=one_time,
            recurring_total=recurring,
            manual_discount_percent=ctx.manual_discount.quantize(MAX_PERCENT_DIGITS),  # as the column reads it back
            discount_over_limit=ctx.manual_discount > ctx.limit,
        )

    def _unit_price(self, ctx: PricingContext, price: OfferingPriceDef, line: LineToPrice, path: str) -> Decimal | None:
        if price.amount is not None:
            return price.amount
        if price.tiers:
            units = _units(price, line)
            # No units (a per-seat price whose count is missing): the first tier, times nothing.
            return next((t.amount for t in reversed(price.tiers) if units >= t.min_quantity), price.tiers[0].amount)
        assert price.matrix is not None
        inputs = {
            **line.characteristics,
            "contractTermMonths": _term_of(line.characteristics, line.offering),
            "quantity": line.quantity,
            "action": line.action,
            "offering": line.offering.key,
        }
        row = ctx.tables.first(price.matrix, inputs)
        amount = table_decimal(row.get("amount")) if row else None
        if amount is None or amount < 0:
            ctx.errors.append(
                FieldError(path, f"{price.matrix} has no price for these characteristic values", PricingErrorCode.NO_MATRIX_PRICE)
            )
            return None
        return amount

    def _line(self, ctx: PricingContext, index: int, line: LineToPrice) -> tuple[PricedLine, dict[str, Charge]]:
        """The line's JSON and its contribution to the order's totals."""
        path = f"lines.{index}"
        charges_def = self.charges_of(ctx.plist.key, line.offering.key)
        if line.action not in UNPRICED_ACTIONS and line.offering.key not in self._charges[ctx.plist.key]:
            ctx.errors.append(
                FieldError(
                    f"{path}.offering",
                    f"price list {ctx.plist.key!r} does not price {line.offering.key!r}",
                    PricingErrorCode.NOT_PRICED,
                )
            )
            return PricedLine({}, ZERO, ZERO), {}
        if line.installed is not None and line.installed.currency != ctx.currency:
            ctx.errors.append(
                FieldError(
                    f"{path}.productId",
                    f"the product is priced in {line.installed.currency}, the order in {ctx.currency}",
                    PricingErrorCode.CURRENCY_MISMATCH,
                )
            )
            return PricedLine({}, ZERO, ZERO), {}
        item_price: list[dict[str, Any]] = []
        charges: dict[str, Charge] = {}
        unit_totals = {ONE_TIME: ZERO, RECURRING: ZERO}
        if line.action not in UNPRICED_ACTIONS:
            for price in charges_def:
                if price.price_type == ONE_TIME and line.action != "add":
                    continue  # one-time charges are for adding a product
                unit = self._unit_price(ctx, price, line, f"{path}.characteristics")
                if unit is None:
                    continue
                entry: dict[str, Any] = {
                    "name": price.charge_name,
                    "priceType": price.price_type,
                    "price": {ctx.basis: ctx.money(ctx.round(unit)), "taxRate": text(ctx.plist.rate_for(price.price_type))},
                    # the charge's name is the POP's: not repeated in the reference
                    "productOfferingPrice": {"id": f"{ctx.plist.key}:{price.offering}:{price.price_type}:{price.name}"},
                }
                if price.price_type == RECURRING:
                    entry["recurringChargePeriod"] = price.period
                    if price.period_length != 1:
                        entry["recurringChargePeriodLength"] = price.period_length
                if price.unit_of_measure or price.quantity_from:
                    entry["unitOfMeasure"] = price.unit_of_measure or price.quantity_from
                if price.matrix:
                    entry["productOfferingPrice"]["matrix"] = price.matrix
                if unit == 0 and price.amount is not None:
                    continue  # a free charge of a fixed price says nothing
                item_price.append(entry)
                if price.price_type == USAGE:
                    continue
                unit_totals[price.price_type] += unit
                amount = ctx.round(unit * _units(price, line))
                period = price.period if price.price_type == RECURRING else None
                charge = charges.get(charge_key(price.price_type, period))
                if charge is None:
                    charges[charge_key(price.price_type, period)] = Charge(price.price_type, period, price.charge_name, amount)
                else:
                    charge.running += amount
            inputs = {
                **line.characteristics,
                **ctx.base_inputs(),
                "level": "line",
                "offering": line.offering.key,
                "specification": line.spec_key,
                "action": line.action,
                "quantity": line.quantity,
                "contractTermMonths": _term_of(line.characteristics, line.offering),
            }
            ctx.apply_all(charges, ctx.automatic(inputs), line.adjustments, f"{path}.priceAdjustments")
        elif line.adjustments:
            ctx.errors.append(
                FieldError(
                    f"{path}.priceAdjustments",
                    f"a {line.action} line has no price to adjust",
                    PricingErrorCode.UNKNOWN_CHARGE_TYPE,
                )
            )
        prices: dict[str, Any] = {}
        if item_price:
            prices["itemPrice"] = item_price
        item_totals = [self._total_json(ctx, c) for c in charges.values()]
        contribution: dict[str, Charge] = {}
        if line.action == "add":
            contribution = {
                k: Charge(c.price_type, c.period, c.name, c.running, other=ctx.other_side(c.price_type, c.running))
                for k, c in charges.items()
            }
        elif line.installed is not None and line.action not in PAUSE_ACTIONS:
            contribution, delta, etc = self._macd(ctx, line, charges, charges_def)
            if etc is not None:
                item_totals.append(self._total_json(ctx, etc))
            prices["priceDelta"] = delta
        elif line.action == "suspend" and line.offering.suspension_fee:
            fee = Charge(ONE_TIME, None, SUSPENSION_FEE, ctx.round(line.offering.suspension_fee))
            item_totals.append(self._total_json(ctx, fee))
            contribution = {
                charge_key(ONE_TIME, None): Charge(
                    ONE_TIME, None, SUSPENSION_FEE, fee.running, other=ctx.other_side(ONE_TIME, fee.running)
                )
            }
        if item_totals:
            prices["itemTotalPrice"] = item_totals
        priced = PricedLine(prices, ctx.round(unit_totals[ONE_TIME]), ctx.round(unit_totals[RECURRING]))
        return priced, contribution

    def _macd(
        self, ctx: PricingContext, line: LineToPrice, charges: dict[str, Charge], charges_def: list[OfferingPriceDef]
    ) -> tuple[dict[str, Charge], dict[str, Any], Charge | None]:
        """A modify or delete line's contribution to the totals, its priceDelta and, for a
        delete within the term, its early-termination charge."""
        installed = line.installed
        assert installed is not None
        current_df, current_ti, period = _installed_recurring(installed)
        if ctx.plist.tax_included:
            current, current_other = current_ti, current_df
        else:
            current, current_other = current_df, current_ti
        new = charge_for(charges, RECURRING)  # the main recurring charge (a product has one period)
        new_amount = new.running if new is not None else ZERO
        new_other = ctx.other_side(RECURRING, new_amount) if new is not None else ZERO
        delta_amount, delta_other = new_amount - current, new_other - current_other
        period = (new.period if new is not None else None) or period
        contribution: dict[str, Charge] = {
            k: Charge(c.price_type, c.period, c.name, c.running, other=ctx.other_side(c.price_type, c.running))
            for k, c in charges.items()
            if c is not new
        }
        contribution[charge_key(RECURRING, period)] = Charge(
            RECURRING, period, "Recurring charge", delta_amount, other=delta_other
        )
        delta: dict[str, Any] = {
            "priceType": RECURRING,
            "recurringChargePeriod": period,
            "currentPrice": ctx.price(RECURRING, current, current_other),
            "newPrice": ctx.price(RECURRING, new_amount, new_other),
            "deltaPrice": ctx.price(RECURRING, delta_amount, delta_other),
        }
        etc: Charge | None = None
        if line.action == "delete":
            terms = next((p.early_termination for p in charges_def if p.price_type == RECURRING and p.early_termination), None)
            chars = installed.characteristics or line.characteristics
            months = (
                remaining_months(installed.start_date, _term_of(chars, line.offering), ctx.request.on)
                if installed.start_date is not None
                else 0
            )
            delta["remainingTermMonths"] = months
            if terms is not None and months > 0:
                amount = ctx.round(terms.fee + percent_of(current * months, terms.remaining_percentage))
                if amount > 0:
                    etc = Charge(ONE_TIME, None, terms.name, amount)
                    etc.alterations = []
                    contribution[charge_key(ONE_TIME, None)] = Charge(
                        ONE_TIME, None, terms.name, amount, other=ctx.other_side(ONE_TIME, amount)
                    )
                    delta["earlyTerminationCharge"] = ctx.price(ONE_TIME, amount)
        return contribution, delta, etc

    def _totals(self, ctx: PricingContext, contributions: list[dict[str, Charge]]) -> dict[str, Charge]:
        totals: dict[str, Charge] = {}
        for contribution in contributions:
            for key, c in contribution.items():
                total = totals.get(key)
                if total is None:
                    name = "Total one-time charges" if c.price_type == ONE_TIME else "Total recurring charges"
                    totals[key] = Charge(c.price_type, c.period, name, c.running, other=c.other or ZERO)
                else:
                    total.running += c.running
                    total.other = (total.other or ZERO) + (c.other or ZERO)
        inputs = {**ctx.base_inputs(), "level": "order", "quantity": len(ctx.request.lines)}
        ctx.apply_all(totals, ctx.automatic(inputs), ctx.request.adjustments, "priceAdjustments")
        return totals

    def _total_json(self, ctx: PricingContext, charge: Charge) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": charge.name, "priceType": charge.price_type}
        if charge.price_type == RECURRING:
            entry["recurringChargePeriod"] = charge.period
        entry["price"] = ctx.price(charge.price_type, charge.running, charge.other)
        if charge.alterations:
            entry["priceAlteration"] = charge.alterations
        return entry


def remaining_months(start: datetime, term_months: int, today: date) -> int:
    """Whole months (rounded up) from ``today`` to the end of a term that started at ``start``."""
    end = add_months(start, term_months).date()
    if today >= end:
        return 0
    months = max(0, (end.year - today.year) * 12 + end.month - today.month - 1)
    now = datetime(today.year, today.month, today.day)
    while add_months(now, months).date() < end:
        months += 1
    return months


def _units(price: OfferingPriceDef, line: LineToPrice) -> int:
    """How many units a charge is for: the line's quantity, times its characteristic's value
    when the price is per unit of one (seats); a missing or non-integer value counts as 0."""
    if price.quantity_from is None:
        return line.quantity
    count = line.characteristics.get(price.quantity_from)
    return line.quantity * count if isinstance(count, int) and not isinstance(count, bool) else 0


def _term_of(characteristics: Mapping[str, Any], offering: OfferingDef) -> int:
    term = characteristics.get("contractTermMonths")
    return term if isinstance(term, int) and not isinstance(term, bool) else offering.contract_term_months


def _installed_recurring(installed: InstalledProduct) -> tuple[Decimal, Decimal, str]:
    """The product's recurring price now (duty-free, tax-included, period)."""
    if not installed.product_price:
        return installed.recurring_price, installed.recurring_price, "month"
    duty_free = tax_included = ZERO
    period = "month"
    for entry in installed.product_price:
        if entry.get("priceType") != RECURRING:
            continue
        price = entry.get("price", {})
        duty_free += Decimal(price.get("dutyFreeAmount", {}).get("value", "0"))
        tax_included += Decimal(price.get("taxIncludedAmount", {}).get("value", "0"))
        period = entry.get("recurringChargePeriod") or period
    return duty_free, tax_included, period
