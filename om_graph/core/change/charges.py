"""Charges a change adds to an order after it was priced: the one path that writes them.

Two kinds, told apart by the price alteration's ``source.kind``:

- ``pointOfNoReturn``: a soft PONR's charge (change/ponr.py :func:`~om_graph.core.change.ponr.charges`
  lists them), written when a revision or a cancellation past it is accepted; once per line and
  task (``source.taskId``).
- ``cancellationFee``: the offerings' ``cancellation_fee`` × quantity of the lines a cancellation
  takes back once their work had started (:func:`cancellation_fee`), written when the cancellation
  is carried out; once per line and request (``source.cancelRequestId``).

Each is a one-time surcharge alteration (TMF ``priceAlteration``) on the line's ``itemTotalPrice``
and on the order's ``orderTotalPrice`` (and its ``one_time_total``), in the price list's basis with
its tax, and a ``ProductOrderAttributeValueChangeEvent`` says what was charged and why. A
repricing (a revision recomputes the prices from the catalog) holds them (:func:`held_charges`)
and adds them back (:func:`restore_charges`), so what a change charged is charged exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.change import ponr
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.models import money
from om_graph.core.pricing.money import ZERO, round_money, text
from om_graph.core.pricing.request import ONE_TIME, RECURRING, SURCHARGE

if TYPE_CHECKING:
    from om_graph.core.catalog.prices import PriceListDef
    from om_graph.core.catalog.registry import Registry
    from om_graph.core.kernel.uow import Acting, UnitOfWork
    from om_graph.core.ordering.models import Order, OrderLine

PONR_SOURCE = ponr.CHARGE_SOURCE
FEE_SOURCE = "cancellationFee"
HELD_SOURCES = (PONR_SOURCE, FEE_SOURCE)
FEE_NAME = "Cancellation fee"
_KEYS = {PONR_SOURCE: "taskId", FEE_SOURCE: "cancelRequestId"}  # what a charge is once per (and line)
_TOTAL_NAMES = {PONR_SOURCE: "Point of no return charges", FEE_SOURCE: "Cancellation fees"}
_ACTIONS = {PONR_SOURCE: "pointOfNoReturnCharge", FEE_SOURCE: "cancellationFee"}


def charge_ponr(
    uow: UnitOfWork,
    order: Order,
    lines: Sequence[OrderLine],
    hits: ponr.PonrAssessment | Sequence[ponr.PonrHit],
    reason: str,
    *,
    actor: Acting = SYSTEM_ACTOR,
    registry: Registry | None,
) -> list[dict[str, Any]]:
    """Write the soft PONR charges of ``hits`` (names "Point of no return charge: <task name>").
    Returns the charges written (with the currency); a (line, task) charged before is not again."""
    return _write(uow, order, lines, ponr.charges(hits), PONR_SOURCE, reason, actor=actor, registry=registry)


def cancellation_fee(order: Order, lines: Sequence[OrderLine], registry: Registry) -> dict[str, Any] | None:
    """The fee of cancelling ``lines`` (their offerings' ``cancellation_fee`` × quantity), as stored
    on the request (``CancelRequest.fee``): None when no offering has one."""
    total = ZERO
    items = []
    for line in lines:
        offering = registry.offerings.get(line.offering_key)
        fee = offering.cancellation_fee if offering is not None else None
        if not fee:
            continue
        amount = round_money(fee * line.quantity, order.currency)
        total += amount
        items.append({"lineId": line.id, "lineNumber": line.line_number, "amount": text(amount)})
    if not items:
        return None
    return {
        "amount": text(round_money(total, order.currency)),
        "currency": order.currency,
        "reason": "cancellation fee: work had started",
        "lines": items,
    }


def charge_fee(
    uow: UnitOfWork,
    order: Order,
    lines: Sequence[OrderLine],
    fee: Mapping[str, Any],
    request_id: int,
    reason: str,
    *,
    registry: Registry | None,
) -> list[dict[str, Any]]:
    """Write a cancellation's ``fee`` (:func:`cancellation_fee`) onto its lines and the order."""
    entries = [
        {
            "lineId": item["lineId"],
            "lineNumber": item["lineNumber"],
            "name": FEE_NAME,
            "amount": item["amount"],
            "cancelRequestId": request_id,
        }
        for item in fee.get("lines") or ()
    ]
    return _write(uow, order, lines, entries, FEE_SOURCE, reason, actor=SYSTEM_ACTOR, registry=registry)


def _write(
    uow: UnitOfWork,
    order: Order,
    lines: Sequence[OrderLine],
    entries: Sequence[Mapping[str, Any]],
    kind: str,
    reason: str,
    *,
    actor: Acting,
    registry: Registry | None,
) -> list[dict[str, Any]]:
    key = _KEYS[kind]
    charged = {(line.id, ref) for line in lines for ref in _charged(line, kind)}
    written = [c for c in entries if (int(c["lineId"]), c[key]) not in charged]
    if not written:
        return []
    plist = _price_list(order, registry)
    by_id = {line.id: line for line in lines}
    base = {"kind": kind, "reason": reason[:500], "actor": getattr(actor, "label", None) or "system"}
    total = ZERO
    applied = []
    for charge in written:
        line = by_id.get(int(charge["lineId"]))
        if line is None:
            continue
        amount = round_money(Decimal(charge["amount"]), order.currency)
        prices = dict(line.prices or {})
        prices["itemTotalPrice"] = _add_one_time(
            list(prices.get("itemTotalPrice") or []),
            amount,
            order.currency,
            plist,
            str(charge["name"]),
            {**base, key: charge[key]},
            "One-time charges",
        )
        line.prices = prices
        total += amount
        applied.append({**charge, "currency": order.currency, "amount": text(amount)})
    if not applied:
        return []
    order.total_prices = _add_one_time(
        list(order.total_prices or []), total, order.currency, plist, _TOTAL_NAMES[kind], base, "Total one-time charges"
    )
    order.one_time_total = money(order.one_time_total + total)
    uow.record(
        order,
        ev.ORDER_ATTRIBUTE_CHANGE,
        entity_kind="order",
        entity_id=order.id,
        actor=actor,
        payload={"action": _ACTIONS[kind], "reason": reason, "charges": applied},
    )
    return applied


def _price_list(order: Order, registry: Registry | None) -> PriceListDef | None:
    return registry.price_lists.get(order.price_list) if registry is not None and order.price_list else None


def _charged(line: OrderLine, kind: str) -> set[Any]:
    return {
        alteration["source"].get(_KEYS[kind])
        for entry in (line.prices or {}).get("itemTotalPrice") or ()
        for alteration in entry.get("priceAlteration") or ()
        if (alteration.get("source") or {}).get("kind") == kind
    }


# -- held across a repricing ----------------------------------------------------------------------


@dataclass(frozen=True)
class HeldCharges:
    """The charges changes added to an order after it was priced (both kinds)."""

    lines: dict[int, list[dict[str, Any]]]  # line id -> its charge alterations
    order: list[dict[str, Any]]  # the order total's


def _charge_alterations(entries: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        dict(alteration)
        for entry in entries or ()
        if entry.get("priceType") == ONE_TIME
        for alteration in entry.get("priceAlteration") or ()
        if (alteration.get("source") or {}).get("kind") in HELD_SOURCES
    ]


def held_charges(order: Order, lines: Iterable[OrderLine]) -> HeldCharges:
    return HeldCharges(
        {line.id: found for line in lines if (found := _charge_alterations((line.prices or {}).get("itemTotalPrice")))},
        _charge_alterations(order.total_prices),
    )


def restore_charges(order: Order, lines: Iterable[OrderLine], held: HeldCharges, *, registry: Registry | None) -> None:
    """Add the ``held`` charges back onto the repriced order and lines (no event: each was recorded
    when it was charged). A removed line's charge stays on the order's total."""
    plist = _price_list(order, registry)

    def add(entries: list[dict[str, Any]] | None, alteration: Mapping[str, Any], charge_name: str) -> list[dict[str, Any]]:
        amount = _amount(alteration)
        source = alteration.get("source") or {}
        return _add_one_time(list(entries or []), amount, order.currency, plist, str(alteration["name"]), source, charge_name)

    for line in lines:
        for alteration in held.lines.get(line.id, ()):
            prices = dict(line.prices or {})
            prices["itemTotalPrice"] = add(prices.get("itemTotalPrice"), alteration, "One-time charges")
            line.prices = prices
    for alteration in held.order:
        order.total_prices = add(order.total_prices, alteration, "Total one-time charges")
        order.one_time_total = money(order.one_time_total + _amount(alteration))


def _amount(alteration: Mapping[str, Any]) -> Decimal:
    return next(Decimal(str(v["value"])) for v in (alteration.get("price") or {}).values())


def _add_one_time(
    entries: list[dict[str, Any]],
    amount: Decimal,
    currency: str,
    plist: PriceListDef | None,
    name: str,
    source: Mapping[str, Any],
    charge_name: str,
) -> list[dict[str, Any]]:
    """``entries`` (itemTotalPrice or orderTotalPrice) with ``amount`` added to the one-time price
    (created if there is none) as a surcharge alteration; both amounts of the price move (tax)."""
    tax_included = plist.tax_included if plist is not None else False
    rate = plist.rate_for(ONE_TIME) if plist is not None else None
    basis = "taxIncludedAmount" if tax_included else "dutyFreeAmount"
    at = next((i for i, e in enumerate(entries) if e.get("priceType") == ONE_TIME), None)
    if at is None:
        zero = {"unit": currency, "value": text(round_money(ZERO, currency))}
        entry: dict[str, Any] = {
            "name": charge_name,
            "priceType": ONE_TIME,
            "price": {"dutyFreeAmount": dict(zero), "taxIncludedAmount": dict(zero), "taxRate": text(rate or ZERO)},
        }
        entries.append(entry)
    else:
        entry = entries[at] = {**entries[at], "price": dict(entries[at].get("price") or {})}
    price = entry["price"]
    if rate is None:
        rate = Decimal(str(price.get("taxRate") or "0"))
    factor = 1 + rate / 100
    other = round_money(amount / factor if tax_included else amount * factor, currency)
    other_basis = "dutyFreeAmount" if tax_included else "taxIncludedAmount"
    for key, delta in ((basis, amount), (other_basis, other)):
        current = Decimal(str((price.get(key) or {}).get("value", "0")))
        price[key] = {"unit": currency, "value": text(round_money(current + delta, currency))}
    alterations = list(entry.get("priceAlteration") or [])
    alterations.append(
        {
            "name": name,
            "priceType": SURCHARGE,
            "priority": len(alterations) + 1,
            "price": {basis: {"unit": currency, "value": text(amount)}},
            "source": dict(source),
        }
    )
    entry["priceAlteration"] = alterations
    assert entry["priceType"] != RECURRING
    return entries
