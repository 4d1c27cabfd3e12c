"""What the Pricer is asked and what it answers: the request, its lines and manual adjustments,
the priced order, and the checks that need nothing but the request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.definitions import OfferingDef
from om_graph.core.catalog.prices import PriceListDef
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError
from om_graph.core.pricing.error_codes import PricingErrorCode
from om_graph.core.pricing.money import HUNDRED

ONE_TIME = "oneTime"
RECURRING = "recurring"
USAGE = "usage"
CHARGE_TYPES = (ONE_TIME, RECURRING)
DISCOUNT = "discount"
SURCHARGE = "surcharge"
ADJUSTMENT_KINDS = (DISCOUNT, SURCHARGE)
MAX_PERCENT_DIGITS = Decimal("0.0001")
MAX_ADJUSTMENTS = 10  # manual adjustments per line and per order
MAX_REASON_LENGTH = 500


class Tables(Protocol):
    """What the Pricer needs of the active decision tables (decisions.service.ActiveTables)."""

    def evaluate(self, name: str, inputs: Mapping[str, Any]) -> list[dict[str, Any]]: ...

    def first(self, name: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class PriceAdjustment:
    """A manual discount or surcharge by an agent: ``amount`` (for the whole line or order) or
    ``percentage`` of the running amount of the charge type it names, with a reason."""

    kind: str
    charge_type: str
    reason: str
    amount: Decimal | None = None
    percentage: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        """As stored on the order and its lines (``price_adjustments``, migration 0016)."""
        return {
            "kind": self.kind,
            "chargeType": self.charge_type,
            "reason": self.reason,
            "amount": None if self.amount is None else str(self.amount),
            "percentage": None if self.percentage is None else str(self.percentage),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PriceAdjustment:
        def number(value: Any) -> Decimal | None:
            return None if value is None else Decimal(str(value))

        return cls(data["kind"], data["chargeType"], data["reason"], number(data.get("amount")), number(data.get("percentage")))


def adjustments_json(adjustments: Sequence[PriceAdjustment]) -> list[dict[str, Any]] | None:
    return [a.as_json() for a in adjustments] or None


def adjustments_from_json(rows: Sequence[Mapping[str, Any]] | None) -> tuple[PriceAdjustment, ...]:
    return tuple(PriceAdjustment.from_json(row) for row in rows or ())


@dataclass(frozen=True)
class InstalledProduct:
    """What a modify or delete line changes: the product's price now and its term."""

    product_price: Sequence[Mapping[str, Any]] | None  # TMF637 productPrice[] (None: from before 0012)
    recurring_price: Decimal  # per unit, the fallback when product_price is None
    currency: str
    start_date: datetime | None
    characteristics: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LineToPrice:
    line_number: int
    action: str
    offering: OfferingDef
    spec_key: str
    quantity: int
    characteristics: Mapping[str, Any]
    adjustments: tuple[PriceAdjustment, ...] = ()
    installed: InstalledProduct | None = None


@dataclass(frozen=True)
class PricingRequest:
    account: str
    channel: str
    segment: str | None
    lines: tuple[LineToPrice, ...]
    actor: Actor
    on: date
    adjustments: tuple[PriceAdjustment, ...] = ()
    price_list: str | None = None  # chosen by an agent (price:adjust): any list valid on ``on``
    # The adjustments and the price list were authorised when the order was captured: a revision
    # prices the order again from them (core/change/revision.py), whoever revises it.
    authorised: bool = False


@dataclass(frozen=True)
class PricedLine:
    prices: dict[str, Any]  # {"itemPrice": [...], "itemTotalPrice": [...], "priceDelta": {...}}
    unit_one_time_price: Decimal
    unit_recurring_price: Decimal


@dataclass(frozen=True)
class PricedOrder:
    price_list: str
    currency: str
    lines: list[PricedLine]
    total_prices: list[dict[str, Any]]
    one_time_total: Decimal
    recurring_total: Decimal
    manual_discount_percent: Decimal
    discount_over_limit: bool


def channel_of(actor: Actor) -> str:
    """The capture channel an actor's order comes through: customers the portal, integrations
    (service accounts) the partner channel, staff the agent workspace."""
    if actor.account_id is not None or "customer" in actor.roles:
        return "portal"
    if "service_account" in actor.roles:
        return "partner"
    return "agent"


def adjustment_problems(adjustments: Sequence[PriceAdjustment], path: str) -> list[FieldError]:
    """What is wrong with manual adjustments as given, whoever gives them (reads nothing)."""
    errors: list[FieldError] = []
    if len(adjustments) > MAX_ADJUSTMENTS:
        return [FieldError(path, f"at most {MAX_ADJUSTMENTS} adjustments", CommonErrorCode.TOO_MANY)]
    for index, adj in enumerate(adjustments):
        at = f"{path}.{index}"
        if adj.kind not in ADJUSTMENT_KINDS:
            errors.append(FieldError(f"{at}.kind", "must be DISCOUNT or SURCHARGE", CommonErrorCode.INVALID))
        if adj.charge_type not in CHARGE_TYPES:
            errors.append(FieldError(f"{at}.chargeType", "must be oneTime or recurring", PricingErrorCode.UNKNOWN_CHARGE_TYPE))
        if not adj.reason or not adj.reason.strip():
            errors.append(FieldError(f"{at}.reason", "a manual adjustment needs a reason", CommonErrorCode.REQUIRED))
        elif len(adj.reason) > MAX_REASON_LENGTH:
            errors.append(FieldError(f"{at}.reason", f"at most {MAX_REASON_LENGTH} characters", CommonErrorCode.TOO_LONG))
        if (adj.amount is None) == (adj.percentage is None):
            errors.append(FieldError(at, "give either an amount or a percentage", CommonErrorCode.INVALID))
            continue
        value = adj.amount if adj.amount is not None else adj.percentage
        assert value is not None
        name = "amount" if adj.amount is not None else "percentage"
        if not value.is_finite() or value <= 0:
            errors.append(FieldError(f"{at}.{name}", "must be greater than zero", CommonErrorCode.OUT_OF_RANGE))
        elif adj.percentage is not None and adj.percentage > HUNDRED:
            errors.append(FieldError(f"{at}.percentage", "must be at most 100", CommonErrorCode.OUT_OF_RANGE))
        elif value.as_tuple().exponent < -6 or value >= Decimal("1e12"):  # type: ignore[operator]
            errors.append(FieldError(f"{at}.{name}", "at most 12 digits and 6 decimals", CommonErrorCode.OUT_OF_RANGE))
    return errors


def visible_price_lists(actor: Actor, lists: Mapping[str, PriceListDef]) -> list[PriceListDef]:
    """The price lists ``actor`` may read (price:read): staff every one; a customer those aimed at
    no particular account or at theirs (an account list names other customers)."""
    require(actor, Permission.PRICE_READ)
    return sorted(
        (p for p in lists.values() if actor.account_id is None or not p.accounts or actor.account_id in p.accounts),
        key=lambda p: p.key,
    )
