"""Inventory coupling: placeholders at decomposition, activation per line, contracts at the end.

TMF637 statuses: an add line's products are created (``created``) when the line is decomposed,
become ``pendingActive`` when the line's work starts, ``active`` with their final characteristics
when the line completes, and ``aborted`` when it fails. A modify line rewrites the product's
characteristics (a tier change its offering too, an entitlement's quantity the characteristic it
reads); a suspend line suspends it, a resume line resumes it; a delete line makes it
``pendingTerminate`` when its work starts, then terminates it, revokes its entitlements and
terminates its contract once none of the contract's products is active (a failed delete line
restores the status it had). Every product transition is one :func:`fire_product`, which writes
the product's history (``ProductStatusChange``) with the event. When
the order ends with any product activated, a contract (agreement) and the offerings' entitlements
are written, each linked back to the order and product.

A modify or delete line writes a product another (older) order shows: :func:`lock_owners` locks
those orders first, newest first, before any product is read (see ``UnitOfWork.lock_other_order``).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.catalog.registry import Registry
from om_graph.core.inventory.models import Agreement, Entitlement, Product, ProductStatusChange
from om_graph.core.inventory.states import AGREEMENT, ENTITLEMENT, PRODUCT, PRODUCT_LINE_EVENTS, ProductStatuses
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.transitions import fire
from om_graph.core.kernel.uow import Acting, OrderRef, UnitOfWork


class SoldLine(Protocol):
    """An order line as the inventory sees it (``ordering.models.OrderLine``)."""

    id: int
    action: str
    offering_key: str
    spec_key: str
    quantity: int
    characteristics: dict[str, Any]
    product_id: int | None
    unit_one_time_price: Decimal
    unit_recurring_price: Decimal
    prices: dict[str, Any] | None  # TMF622 itemPrice / itemTotalPrice (core/pricing)


def product_price_of(prices: dict[str, Any] | None, quantity: int) -> list[dict[str, Any]] | None:
    """TMF637 productPrice[] of one unit of a line: its itemTotalPrice per price type divided by
    the quantity (each amount in the line's minor unit, half up), with the alterations as
    productPriceAlteration (per unit too). What a later modify's delta and disconnect's charge read."""
    if not prices or not prices.get("itemTotalPrice"):
        return None

    def per_unit(price: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in price.items():
            if isinstance(value, dict) and "value" in value:
                amount = Decimal(value["value"])
                digits = -Decimal(value["value"]).as_tuple().exponent  # type: ignore[operator]
                quantum = Decimal(1).scaleb(-digits)
                out[key] = {**value, "value": format((amount / quantity).quantize(quantum, rounding=ROUND_HALF_UP), "f")}
            else:
                out[key] = value
        return out

    result = []
    for total in prices["itemTotalPrice"]:
        entry: dict[str, Any] = {k: v for k, v in total.items() if k not in ("price", "priceAlteration")}
        entry["price"] = per_unit(total["price"])
        if total.get("priceAlteration"):
            entry["productPriceAlteration"] = [{**a, "price": per_unit(a["price"])} for a in total["priceAlteration"]]
        result.append(entry)
    return result


_PRODUCTS_OF_ORDER = select(Product).where(Product.order_id == bindparam("order_id")).order_by(Product.id)
_OWNERS = select(Product.order_id).where(Product.id.in_(bindparam("ids", expanding=True))).distinct()
_PRODUCTS_READ = "om_products_of_order"  # session.info: order id -> its products, read in this transaction
_ACTIVE_IN_AGREEMENT = select(Product.id).where(
    Product.agreement_id == bindparam("agreement_id"), Product.status == ProductStatuses.ACTIVE
)


def add_months(start: datetime, months: int) -> datetime:
    """``start`` plus a number of calendar months, at the same time of day.

    A day that the target month does not have is clamped to that month's last day: 31 January
    plus one month is 28 February (29 in a leap year), 31 August plus one month 30 September.
    The clamp does not carry over: 31 January plus two months is 31 March, not 28 or 29."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def contract_term_months(product: Product, registry: Registry) -> int:
    """A product's contract term: its ``contractTermMonths`` characteristic when it has one (the
    term the customer chose, which its price depended on), else its offering's."""
    chosen = product.characteristics.get("contractTermMonths")
    if isinstance(chosen, int) and not isinstance(chosen, bool) and chosen > 0:
        return chosen
    return registry.offerings[product.offering_key].contract_term_months


def record_history(
    uow: UnitOfWork,
    order: OrderRef | None,
    product: Product,
    event: str,
    from_status: str | None,
    actor: Acting,
    line_id: int | None,
) -> None:
    """One row of the product's history (TMF637): the event, the status before and after, the
    order line that made it, who acted and the characteristics the product has now."""
    uow.session.add(
        ProductStatusChange(
            product_id=product.id,
            order_id=order.id if order is not None else None,
            order_line_id=line_id,
            event=event,
            from_status=from_status,
            to_status=product.status,
            actor=actor.label,
            characteristics=dict(product.characteristics),
        )
    )


def fire_product(uow: UnitOfWork, order: OrderRef, product: Product, event: str, actor: Acting, line_id: int | None) -> str:
    """Every product transition: fire ``event`` on the product's machine (one event row on the
    order) and write the product's history. Returns the new status."""
    previous = product.status
    status = fire(uow, order, product, event, actor, {"lineId": line_id, "productId": product.id})
    record_history(uow, order, product, event, previous, actor, line_id)
    return status


def create_placeholders(
    uow: UnitOfWork, order: OrderRef, line: SoldLine, registry: Registry, *, count: int | None = None
) -> None:
    """An add line's product placeholders (``created``): one per unit, or ``count`` more (a
    revision raised the line's quantity: :func:`align_placeholders`)."""
    if line.action != "add":
        return
    offering = registry.offerings[line.offering_key]
    placeholders = [
        Product(
            customer_id=order.customer_id,
            name=offering.name,
            offering_key=line.offering_key,
            spec_key=line.spec_key,
            status=PRODUCT.initial,
            characteristics=dict(line.characteristics),
            one_time_price=line.unit_one_time_price,
            recurring_price=line.unit_recurring_price,
            currency=order.currency,  # the currency the line's captured prices are in
            product_price=product_price_of(line.prices, line.quantity),
            order_id=order.id,
            order_line_id=line.id,
            last_order_line_id=line.id,
        )
        for _ in range(line.quantity if count is None else count)
    ]
    uow.add_new(placeholders)  # inserted now, as created: a line that completes at once reads them back
    actor = SYSTEM_ACTOR
    uow.add_new(
        [
            ProductStatusChange(
                product_id=p.id,
                order_id=order.id,
                order_line_id=line.id,
                event="create",
                from_status=None,
                to_status=p.status,
                actor=actor.label,
                characteristics=dict(p.characteristics),
            )
            for p in placeholders
        ]
    )


def start_line(uow: UnitOfWork, order: OrderRef, line: SoldLine, actor: Acting) -> None:
    """A line's work started (the roll-up moved it to inProgress): an add line's placeholders
    become ``pendingActive``, a delete line's product ``pendingTerminate``. A modify, suspend or
    resume line leaves the product's status until it completes. A delete line's product owner
    must be locked first (:func:`lock_owners`)."""
    event = PRODUCT_LINE_EVENTS.get((line.action, "start"))
    if event is None:
        return
    if line.action == "add":
        for product in _products_of_order(uow.session, order.id):
            if product.order_line_id == line.id and PRODUCT.can(product.status, event):
                fire_product(uow, order, product, event, actor, line.id)
        return
    changed = _changed_product(uow, line)
    if changed is not None and PRODUCT.can(changed.status, event):
        fire_product(uow, order, changed, event, actor, line.id)


def _changed_product(uow: UnitOfWork, line: SoldLine) -> Product | None:
    """The product a modify, delete, suspend or resume line changes, read after its owner's lock
    and over anything this session holds (a change committed meanwhile is kept), except this
    transaction's own unflushed changes to it (flushed first)."""
    if line.product_id is None:
        return None
    session = uow.session
    held = session.identity_map.get(session.identity_key(Product, line.product_id))
    if held is not None and held in session.dirty:
        session.flush()
    return session.get(Product, line.product_id, populate_existing=True)


def _products_of_order(session: Session, order_id: int) -> list[Product]:
    """The order's products, read once per transaction (settling its lines and writing its
    contract share the read). Products created in this same transaction (a line with no work to
    do completes at once) are flushed first, and a later one makes the next call read again."""
    if any(isinstance(obj, Product) for obj in session.new):
        session.flush()
        session.info.pop(_PRODUCTS_READ, None)
    read: dict[int, list[Product]] = session.info.setdefault(_PRODUCTS_READ, {})
    if order_id not in read:
        with session.no_autoflush:  # statuses changed in this transaction are read from the objects
            read[order_id] = list(session.scalars(_PRODUCTS_OF_ORDER, {"order_id": order_id}))
    return read[order_id]


def lock_owners(uow: UnitOfWork, lines: Iterable[SoldLine]) -> None:
    """Lock the orders that own the products these (completed) lines modify or delete, newest
    first and once, before any of those products is read. The order being settled is newer than
    every product it changes (a product exists before an order can name it) and is locked
    already, so every writer takes order locks in descending id order: no two wait in a cycle.
    Only the owner ids are read here; they never change."""
    ids = [line.product_id for line in lines if line.action != "add" and line.product_id is not None]
    if ids:
        for owner in sorted(uow.session.scalars(_OWNERS, {"ids": ids}), reverse=True):
            uow.lock_other_order(owner)


def settle_line(
    uow: UnitOfWork,
    order: OrderRef,
    line: SoldLine,
    outputs: dict[int, dict[str, Any]],
    actor: Acting,
    *,
    completed: bool,
    registry: Registry | None = None,
) -> None:
    """Apply a finished line to the inventory: ``completed`` says whether the line completed (the
    line's machine decides; the inventory does not read order states). ``outputs`` are the
    characteristics fulfilment produced (e.g. assigned serials), per unit of the line. A modify,
    delete, suspend or resume line's product owner must be locked first (:func:`lock_owners`).
    ``registry``: the catalog a tier change reads the new offering's name from, and a quantity
    change its entitlements' definitions."""
    session = uow.session
    now = utcnow()
    if line.action == "add":
        products = [p for p in _products_of_order(session, order.id) if p.order_line_id == line.id]
        for unit, placeholder in enumerate(products):
            if placeholder.status not in (ProductStatuses.CREATED, ProductStatuses.PENDING_ACTIVE):
                continue
            if completed:
                placeholder.characteristics = {**line.characteristics, **outputs.get(unit, {})}
                placeholder.start_date = now
                fire_product(uow, order, placeholder, "activate", actor, line.id)
            else:
                fire_product(uow, order, placeholder, "abort", actor, line.id)
        return
    if line.product_id is None:
        return
    lock_owners(uow, [line])  # (a no-op when the roll-up locked them all first)
    product = _changed_product(uow, line)
    if product is None:
        return
    if not completed:
        if line.action == "delete" and product.status == ProductStatuses.PENDING_TERMINATE:
            fire_product(uow, order, product, restore_event(uow, product), actor, line.id)
        return
    if line.action in ("suspend", "resume") and not PRODUCT.can(product.status, PRODUCT_LINE_EVENTS[(line.action, "complete")]):
        return  # nothing to do (a resume whose pending suspend it voided): the product is untouched
    product.last_order_line_id = line.id
    if line.action == "modify":
        product.characteristics = {**product.characteristics, **line.characteristics, **outputs.get(0, {})}
        if line.prices is not None:  # priced since 0012: the product's new price (none: now free)
            product.product_price = product_price_of(line.prices, 1) if line.prices.get("itemTotalPrice") else []
            product.recurring_price = line.unit_recurring_price
        if line.offering_key != product.offering_key:  # a tier change within the offering's family
            product.offering_key = line.offering_key
            offering = registry.offerings.get(line.offering_key) if registry is not None else None
            if offering is not None:
                product.name = offering.name
        _align_entitlements(uow, order, product, registry, actor)
        event = "modify" if product.status == ProductStatuses.ACTIVE else "modifySuspended"
        fire_product(uow, order, product, event, actor, line.id)
    elif line.action in ("suspend", "resume"):
        fire_product(uow, order, product, PRODUCT_LINE_EVENTS[(line.action, "complete")], actor, line.id)
    elif line.action == "delete":
        product.termination_date = now
        fire_product(uow, order, product, "terminate", actor, line.id)
        for entitlement in product.entitlements:
            if ENTITLEMENT.can(entitlement.status, "revoke"):
                fire(uow, order, entitlement, "revoke", actor, {"productId": product.id})
        _terminate_contract_if_done(uow, order, product, actor)


_LAST_START = (
    select(ProductStatusChange.from_status)
    .where(ProductStatusChange.product_id == bindparam("product_id"), ProductStatusChange.event == "startTermination")
    .order_by(ProductStatusChange.id.desc())
    .limit(1)
)


def restore_event(uow: UnitOfWork, product: Product) -> str:
    """The event that takes a ``pendingTerminate`` product back to the status it had when its
    delete line's work started (its history says which: active or suspended)."""
    pending = [
        c.from_status
        for c in uow.session.new
        if isinstance(c, ProductStatusChange) and c.product_id == product.id and c.event == "startTermination"
    ]
    with uow.session.no_autoflush:
        before = pending[-1] if pending else uow.session.scalar(_LAST_START, {"product_id": product.id})
    return "abortTerminationSuspended" if before == ProductStatuses.SUSPENDED else "abortTermination"


def _align_entitlements(uow: UnitOfWork, order: OrderRef, product: Product, registry: Registry | None, actor: Acting) -> None:
    """A modify's effect on the product's live entitlements, against its (possibly new)
    offering's definitions: a quantity change sets those whose quantity a characteristic gives
    (``EntitlementDef.quantity_from``, e.g. seats); a tier change also sets the fixed quantities
    of the new tier, revokes what the new tier does not grant and grants what it adds (under the
    product's contract; none yet: the contract written at the end grants them)."""
    offering = registry.offerings.get(product.offering_key) if registry is not None else None
    if offering is None:
        return
    defs = {e.name: e for e in offering.entitlements}
    live = [e for e in product.entitlements if e.status == ENTITLEMENT.initial]
    for entitlement in live:
        definition = defs.get(entitlement.name)
        if definition is None:
            fire(uow, order, entitlement, "revoke", actor, {"productId": product.id, "reason": "not in the new tier"})
            continue
        value: object = definition.quantity
        if definition.quantity_from:
            value = product.characteristics.get(definition.quantity_from, definition.quantity)
        if isinstance(value, int) and not isinstance(value, bool) and value != entitlement.quantity:
            entitlement.quantity = value
    held = {e.name for e in live}
    if product.agreement_id is None:
        return
    for definition in offering.entitlements:
        if definition.name in held:
            continue
        quantity = (
            product.characteristics.get(definition.quantity_from, definition.quantity)
            if definition.quantity_from
            else definition.quantity
        )
        uow.session.add(
            Entitlement(
                customer_id=product.customer_id,
                product_id=product.id,
                agreement_id=product.agreement_id,
                name=definition.name,
                quantity=int(quantity),
                unit=definition.unit,
                status=ENTITLEMENT.initial,
            )
        )


def _terminate_contract_if_done(uow: UnitOfWork, order: OrderRef, product: Product, actor: Acting) -> None:
    """A contract ends with the last of its active products (its order is locked: it owns them)."""
    agreement = product.agreement
    if agreement is None or not AGREEMENT.can(agreement.status, "terminate"):
        return
    uow.session.flush()  # the product's termination, before asking which products are active
    if uow.session.scalar(_ACTIVE_IN_AGREEMENT, {"agreement_id": agreement.id}) is None:
        fire(uow, order, agreement, "terminate", actor, {"productId": product.id})


def write_contract(uow: UnitOfWork, order: OrderRef, registry: Registry) -> Agreement | None:
    """Contract and entitlements for the products this order activated. The contract starts
    now (the order's completion) and runs for the longest term of the products' offerings, in
    calendar months (:func:`add_months`)."""
    session = uow.session
    products = [p for p in _products_of_order(session, order.id) if p.status == ProductStatuses.ACTIVE]
    if not products:
        return None
    now = utcnow()
    term = max(contract_term_months(p, registry) for p in products if p.offering_key in registry.offerings)
    agreement = Agreement(
        customer_id=order.customer_id,
        order_id=order.id,
        name=f"Contract for order {order.id}",
        status=AGREEMENT.initial,
        start_date=now,
        end_date=add_months(now, term),  # calendar months (add_months)
    )
    uow.add_new([agreement])  # alone, so its INSERT returns the id the products and entitlements point at
    entitlements = []
    for product in products:
        product.agreement_id = agreement.id
        offering = registry.offerings.get(product.offering_key)
        for ent in offering.entitlements if offering else ():
            quantity = product.characteristics.get(ent.quantity_from, ent.quantity) if ent.quantity_from else ent.quantity
            entitlements.append(
                Entitlement(
                    customer_id=order.customer_id,
                    product_id=product.id,
                    agreement_id=agreement.id,
                    name=ent.name,
                    quantity=int(quantity),
                    unit=ent.unit,
                    status=ENTITLEMENT.initial,
                )
            )
    uow.add_new(entitlements)  # written once; products point at the agreement from the final flush
    return agreement


def cancel_line_products(uow: UnitOfWork, order: OrderRef, line: SoldLine, actor: Acting) -> None:
    """A cancelled line (core/change/cancellation.py: its work undone or never done) leaves the
    inventory as it found it: an add line's placeholders (created, pendingActive) are cancelled,
    a delete line's product in pendingTerminate goes back to the status it had. A modify, suspend
    or resume line changed no product status (its undo handlers reverse what its work did). Each
    transition writes the product's history (:func:`fire_product`)."""
    if line.action == "add":
        for product in _products_of_order(uow.session, order.id):
            if product.order_line_id == line.id and PRODUCT.can(product.status, "cancel"):
                fire_product(uow, order, product, "cancel", actor, line.id)
        return
    if line.action != "delete" or line.product_id is None:
        return
    lock_owners(uow, [line])
    changed = _changed_product(uow, line)
    if changed is not None and changed.status == ProductStatuses.PENDING_TERMINATE:
        fire_product(uow, order, changed, restore_event(uow, changed), actor, line.id)


def align_placeholders(uow: UnitOfWork, order: OrderRef, line: SoldLine, registry: Registry, actor: Acting) -> None:
    """A revision changed an add line's quantity (core/change/revision.py): the missing units'
    placeholders are created (and started when the line's other placeholders are), the surplus
    ones (the newest: the highest units went) cancelled. Each transition writes its history."""
    if line.action != "add":
        return
    products = [p for p in _products_of_order(uow.session, order.id) if p.order_line_id == line.id]
    live = sorted((p for p in products if PRODUCT.can(p.status, "cancel")), key=lambda p: p.id)
    if len(live) < line.quantity:
        started = any(p.status == ProductStatuses.PENDING_ACTIVE for p in live)
        create_placeholders(uow, order, line, registry, count=line.quantity - len(live))
        uow.session.info.pop(_PRODUCTS_READ, None)
        if started:
            start_line(uow, order, line, actor)
        return
    for product in live[line.quantity :]:
        fire_product(uow, order, product, "cancel", actor, line.id)
